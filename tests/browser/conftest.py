"""Browser tests: Playwright for Python driving Debian's Chromium (by its path; never a
downloaded browser) against a real server started for the session (tests/browser/server.py)
on a free port, with the demo data only. A failed test keeps a screenshot of every page it had
open under var/browser-failures/ and prints the paths."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
FAILURES = ROOT / "var" / "browser-failures"
DEMO_PASSWORD = "Demo@2025"
START_TIMEOUT_S = 600
# Playwright's defaults (5 s for an expectation) assume a quiet machine; the suite also runs
# beside other work on 2 cores, where a page after a POST can take longer.
expect.set_options(timeout=30_000)

pytestmark = pytest.mark.browser


@dataclass
class Server:
    base: str
    data: Path
    process: subprocess.Popen[bytes]

    def set_clock_offset(self, seconds: float) -> None:
        (self.data / "clock-offset").write_text(str(seconds))

    def advance(self, seconds: float) -> None:
        path = self.data / "clock-offset"
        current = float(path.read_text()) if path.exists() else 0.0
        self.set_clock_offset(current + seconds)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(os.access(CHROMIUM, os.X_OK), "Debian's chromium (/usr/bin/chromium)")
    require((ROOT / "node_modules/htmx.org/dist/htmx.min.js").exists(), "npm assets (make assets)")
    data = tmp_path_factory.mktemp("browser-server")
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.server", str(data)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    port_file = data / "port"
    # Migrating and seeding the demo takes seconds on a quiet machine, minutes on a loaded one
    # (over three at a load average of 26 on 2 cores): wait as long as the server is alive.
    deadline = time.monotonic() + START_TIMEOUT_S
    base = ""
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"test server exited: {(data / 'server.log').read_text()[-3000:]}")
            if port_file.exists() and port_file.read_text():
                base = f"http://127.0.0.1:{port_file.read_text()}"
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail(f"test server did not start within {START_TIMEOUT_S} s")
        yield Server(base, data, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        # launch() gives every run a fresh temporary user-data-dir
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        await b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@dataclass
class Desk:
    """Browser contexts of one test (one per staff member), screenshotted on failure."""

    browser: Browser
    server: Server
    contexts: list[BrowserContext] = field(default_factory=list)

    async def login(
        self, username: str, *, password: str = DEMO_PASSWORD, width: int = 1366, height: int = 768
    ) -> Page:
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True
        )
        context.set_default_timeout(60_000)
        self.contexts.append(context)
        page = await context.new_page()
        await page.goto(self.server.base + "/console/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state()
        assert "/console/login" not in page.url, await page.content()
        return page


@pytest.fixture
async def desk(
    request: pytest.FixtureRequest, browser: Browser, server: Server
) -> AsyncIterator[Desk]:
    d = Desk(browser, server)
    yield d
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(d.contexts):
            for m, page in enumerate(context.pages):
                path = FAILURES / f"{request.node.name}-{n}-{m}.png"
                try:
                    await page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot of the failed page {page.url}: {path}")
                except Exception as exc:  # a crashed page: say so, keep the test's own error
                    print(f"no screenshot of {page.url}: {exc}")
    for context in d.contexts:
        await context.close()
