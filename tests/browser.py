"""A real browser for UI tests: the distribution's headless Chromium, driven by Selenium.

Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them); the flags
keep it off the network (this machine has none but loopback) and the profile is a fresh empty
folder. A missing browser, driver or ``selenium`` skips the test with the reason, which under
``CI=true`` is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1000",
)


def _found(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A Selenium ``WebDriver`` on headless Chromium; quit and its profile removed after."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    browser = _found("chromium", "chromium-browser")
    driver_path = _found("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("headless Chromium needs Debian's chromium and chromium-driver packages "
                    "(apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a browser or driver
    profile = tempfile.mkdtemp(prefix="autolog-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
