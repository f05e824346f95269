"""Logging in to the staff console through its form with Sanic's ASGI client. Cookies are
passed explicitly on every request, never kept by the client between requests."""

from __future__ import annotations

import re

from tests.factories import STAFF_PASSWORD

COOKIE = "yibao_console"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def set_cookie(resp, name: str) -> str:  # type: ignore[no-untyped-def]
    """The whole Set-Cookie header for ``name``."""
    for header in resp.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie in {resp.headers}")


def cookie_value(resp, name: str) -> str:  # type: ignore[no-untyped-def]
    return set_cookie(resp, name).split(";")[0].split("=", 1)[1]


async def login_page(client) -> tuple[dict[str, str], str]:  # type: ignore[no-untyped-def]
    """The login form's CSRF cookie and token."""
    client.cookies.clear()
    _, page = await client.get("/console/login")
    return {"yibao_login_csrf": cookie_value(page, "yibao_login_csrf")}, csrf_of(page.text)


async def console_login(client, username: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Log in through the form; returns the session cookie value and the page's CSRF token."""
    cookies, token = await login_page(client)
    form = {"username": username, "password": STAFF_PASSWORD, "csrf_token": token}
    _, resp = await client.post("/console/login", data=form, cookies=cookies)
    assert resp.status == 303, resp.text
    value = cookie_value(resp, COOKIE)
    client.cookies.clear()
    _, home = await client.get(resp.headers["location"], cookies={COOKIE: value})
    assert home.status == 200, home.text
    return value, csrf_of(home.text)
