"""Revocations, deactivations and terminal state live in the database: after the key-value
store loses everything (a Redis restart keeps nothing on disk), no logged-out token, no
deactivated account's token and no disabled terminal is accepted again."""

from __future__ import annotations

from backend.container import Container
from backend.identity.models import Role
from backend.infra.kv import RedisStore
from backend.terminals.service import deactivate_terminal
from tests.api.test_auth import assert_error, get_me, refresh
from tests.api.test_terminal import WHOAMI, assert_refused
from tests.factories import (
    bearer,
    login_citizen,
    login_staff,
    make_staff,
    make_staff_with_password,
    make_terminal,
    terminal_headers,
)


async def lose_store(c: Container) -> None:
    """What a Redis restart does: every key gone, every process's cached answers dropped."""
    if isinstance(c.kv, RedisStore):
        await c.kv.flush_prefix()
    else:
        await c.kv.close()
    c.cache.clear()


async def test_logged_out_and_deactivated_sessions_stay_ended_after_the_store_is_lost(client, c):
    citizen = await login_citizen(client, c)
    staff = await make_staff_with_password(c, "staff01")
    clerk = await login_staff(client)
    admin = await make_staff(c, Role.ADMIN, "admin01")
    still_in = await login_citizen(client, c, "citizen-2")
    for token in (citizen, clerk, still_in):
        assert (await get_me(client, token["access_token"])).status == 200

    _, resp = await client.post("/api/v1/auth/logout", headers=bearer(citizen["access_token"]))
    assert resp.status == 204
    _, resp = await client.post(
        f"/api/v1/admin/accounts/{staff.id}/deactivate",
        json={"reason": "离职停用"},
        headers=admin.headers,
    )
    assert resp.status == 200

    await lose_store(c)
    assert_error(await get_me(client, citizen["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(await get_me(client, clerk["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(await refresh(client, citizen["refresh_token"]), 401)
    assert_error(await refresh(client, clerk["refresh_token"]), 401)
    assert (await get_me(client, still_in["access_token"])).status == 200  # others unaffected


async def test_a_disabled_terminal_stays_disabled_after_the_store_is_lost(client, c):
    term = await make_terminal(c)
    _, resp = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert resp.status == 200, resp.text
    await deactivate_terminal(c, term.identity.key_id, reason="设备遗失")
    await lose_store(c)
    _, resp = await client.get(WHOAMI, headers=terminal_headers(c, term, "GET", WHOAMI))
    assert_refused(resp, "TERMINAL_UNKNOWN")
