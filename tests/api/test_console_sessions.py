"""Console sessions through Sanic's ASGI client, on both stacks: the cookie's attributes, CSRF
on login and on every state-changing request, roles, idle timeout on the injected clock, and
deactivation or logout ending the session server-side."""

from __future__ import annotations

import pytest

from backend.app import create_app
from backend.identity.models import Role
from tests.conftest import StartedASGIClient
from tests.console_helpers import COOKIE, console_login, login_page, set_cookie
from tests.factories import STAFF_PASSWORD, login_staff, make_staff_with_password


@pytest.fixture
async def clerk(c):
    from backend.stations.models import Station, StationLevel

    station = await Station.create(
        code="T01", name="测试服务站", level=StationLevel.TOWN, delegated_items=["enrollment"]
    )
    return await make_staff_with_password(c, "clerk01", station_id=station.id)


async def test_login_sets_a_strict_httponly_cookie_and_needs_its_csrf_token(client, clerk):
    cookies, token = await login_page(client)
    form = {"username": "clerk01", "password": STAFF_PASSWORD, "csrf_token": token}
    client.cookies.clear()  # another browser: the page's token without its cookie
    _, refused = await client.post("/console/login", data=form)
    assert refused.status == 403 and COOKIE not in refused.headers.get("set-cookie", "")

    cookies, form["csrf_token"] = await login_page(client)
    _, resp = await client.post("/console/login", data=form, cookies=cookies)
    assert resp.status == 303
    cookie = set_cookie(resp, COOKIE).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # development; production sets Secure


async def test_in_production_the_session_cookie_is_secure(c, stack, clerk):
    with pytest.MonkeyPatch.context() as production:
        production.setattr(c.settings, "env", "production")
        app = create_app(c, name=f"yibao-console-production-{stack.name}")
    client = StartedASGIClient(app)
    try:
        await client.get("/console/login")  # starts the app with the development keys
        with pytest.MonkeyPatch.context() as production:
            production.setattr(c.settings, "env", "production")
            cookies, token = await login_page(client)
            form = {"username": "clerk01", "password": STAFF_PASSWORD, "csrf_token": token}
            _, resp = await client.post("/console/login", data=form, cookies=cookies)
        assert resp.status == 303
        cookie = set_cookie(resp, COOKIE).lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    finally:
        await client.stop()


async def test_wrong_password_shows_the_login_page_again(client, clerk):
    cookies, token = await login_page(client)
    form = {"username": "clerk01", "password": "wrong-password", "csrf_token": token}
    _, resp = await client.post("/console/login", data=form, cookies=cookies)
    assert resp.status == 401 and "用户名或密码错误" in resp.text


async def test_state_changes_need_the_sessions_csrf_token(client, clerk):
    value, csrf = await console_login(client, "clerk01")
    form = {"id_number": "110101199003071234", "reason": "核对参保信息"}
    _, refused = await client.post("/console/station/lookup", data=form, cookies={COOKIE: value})
    assert refused.status == 403 and "CSRF_FAILED" in refused.text
    _, forged = await client.post(
        "/console/station/lookup", data={**form, "csrf_token": "x" * 32}, cookies={COOKIE: value}
    )
    assert forged.status == 403
    _, header = await client.post(
        "/console/station/lookup",
        data=form,
        cookies={COOKIE: value},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert header.status != 403  # accepted; the look-up itself answers (not found here)
    assert header.headers.get("HX-Retarget") == "#flash"


async def test_pages_outside_the_role_are_refused(client, c, clerk):
    value, _ = await console_login(client, "clerk01")
    for path in ("/console/review", "/console/finance", "/console/admin/accounts"):
        _, resp = await client.get(path, cookies={COOKIE: value})
        assert resp.status == 403, path
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 200


async def test_without_a_session_pages_send_to_login(client, c):
    client.cookies.clear()
    _, resp = await client.get("/console/station", cookies={COOKIE: "made-up"})
    assert resp.status == 302 and resp.headers["location"] == "/console/login"
    _, resp = await client.get("/console/station", headers={"HX-Request": "true"})
    assert resp.status == 401 and resp.headers["HX-Redirect"] == "/console/login"


async def test_idle_session_ends_on_the_injected_clock(client, clock, clerk):
    value, _ = await console_login(client, "clerk01")
    clock.advance(minutes=29)
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 200  # activity restarts the idle period
    clock.advance(minutes=29)
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 200
    clock.advance(minutes=31)
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 302
    clock.advance(minutes=-90)  # even back in time, an ended session stays ended
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 302


async def test_deactivation_and_logout_end_console_sessions_at_once(client, c, clerk):
    await make_staff_with_password(c, "admin01", role=Role.ADMIN.value)
    value, csrf = await console_login(client, "clerk01")
    admin = await login_staff(client, "admin01")
    _, resp = await client.post(
        f"/api/v1/admin/accounts/{clerk.id}/deactivate",
        json={"reason": "调离岗位"},
        headers={"Authorization": f"Bearer {admin['access_token']}"},
    )
    assert resp.status == 200, resp.json
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 302

    await make_staff_with_password(c, "clerk02", station_id=clerk.station_id)
    value, csrf = await console_login(client, "clerk02")
    _, resp = await client.post(
        "/console/logout", data={"csrf_token": csrf}, cookies={COOKIE: value}
    )
    assert resp.status == 303
    _, resp = await client.get("/console/station", cookies={COOKIE: value})
    assert resp.status == 302
