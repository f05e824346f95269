"""/docs (Swagger UI) and the console render with no network access: every request that
leaves 127.0.0.1 is blocked and recorded, and none is attempted."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.async_api import Route, expect

from tests.browser.conftest import Desk, Server

pytestmark = pytest.mark.browser


async def test_docs_and_console_render_offline(desk: Desk, server: Server) -> None:
    context = await desk.browser.new_context(viewport={"width": 1366, "height": 768})
    desk.contexts.append(context)
    outside: list[str] = []

    async def only_local(route: Route) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    page = await context.new_page()
    await page.goto(server.base + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("yibao")
    await expect(page.locator(".opblock").first).to_be_visible()

    await page.goto(server.base + "/console/login")
    assert await page.evaluate("typeof window.htmx") == "object"  # htmx served locally
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(245, 247, 250)"  # the console's own stylesheet loaded
    assert outside == [], f"requests left the machine: {outside}"
