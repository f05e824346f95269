"""Idempotency keys: the service on both stacks (and a real race on PostgreSQL), and the
``@idempotent`` decorator through a small app that uses the real authentication."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from backend.errors import Conflict, InvalidInput
from backend.idempotency import service
from backend.idempotency.models import IdempotencyRecord
from backend.identity.models import Account, Role
from backend.identity.tokens import start_session
from handlers.errors import register_error_handlers
from handlers.idempotency import idempotent
from handlers.request import requires
from handlers.terminal import terminal_auth
from tests.factories import make_terminal, terminal_headers

H1 = service.request_hash("POST", "/api/v1/things", b'{"n":1}')
H2 = service.request_hash("POST", "/api/v1/things", b'{"n":2}')
SCOPE = "account:1"


async def _answer(c, claim, status=201, body=None):
    await service.complete(
        c, claim, status_code=status, content_type="application/json", body=body or {"id": 7}
    )


# --- the service -------------------------------------------------------------------------


def test_request_hash_covers_method_target_and_body():
    base = service.request_hash("POST", "/a?x=1", b"{}")
    assert (
        len(
            {
                base,
                service.request_hash("PUT", "/a?x=1", b"{}"),
                service.request_hash("POST", "/a?x=2", b"{}"),
                service.request_hash("POST", "/a?x=1", b"{ }"),
            }
        )
        == 4
    )
    assert service.request_hash("post", "/a?x=1", b"{}") == base


async def test_first_request_claims_the_key(c):
    claim = await service.begin(c, SCOPE, "k-1", H1)
    assert isinstance(claim, service.Claim)
    record = await IdempotencyRecord.get(scope=SCOPE, key="k-1")
    assert record.status_code is None and record.request_hash == H1


async def test_retry_gets_the_stored_answer(c):
    claim = await service.begin(c, SCOPE, "k-1", H1)
    await _answer(c, claim, body={"id": 7, "名称": "张三"})
    replay = await service.begin(c, SCOPE, "k-1", H1)
    assert isinstance(replay, service.Replay)
    assert (replay.status_code, replay.body) == (201, {"id": 7, "名称": "张三"})
    assert await IdempotencyRecord.all().count() == 1


async def test_same_key_with_another_body_is_a_conflict(c):
    claim = await service.begin(c, SCOPE, "k-1", H1)
    await _answer(c, claim)
    with pytest.raises(Conflict) as info:
        await service.begin(c, SCOPE, "k-1", H2)
    assert info.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_reuse_is_refused_even_while_the_first_runs(c):
    await service.begin(c, SCOPE, "k-1", H1)
    with pytest.raises(Conflict) as info:
        await service.begin(c, SCOPE, "k-1", H2)
    assert info.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_retry_while_the_first_runs_is_in_progress(c):
    await service.begin(c, SCOPE, "k-1", H1)
    with pytest.raises(Conflict) as info:
        await service.begin(c, SCOPE, "k-1", H1)
    assert info.value.code == "IDEMPOTENCY_IN_PROGRESS"


async def test_a_failed_attempt_is_not_stored(c):
    claim = await service.begin(c, SCOPE, "k-1", H1)
    await service.abandon(c, claim)
    assert await IdempotencyRecord.all().count() == 0
    again = await service.begin(c, SCOPE, "k-1", H2)  # a corrected retry runs afresh
    assert isinstance(again, service.Claim)


async def test_scopes_do_not_share_keys(c):
    claim = await service.begin(c, "account:1", "same", H1)
    await _answer(c, claim)
    assert isinstance(await service.begin(c, "account:2", "same", H2), service.Claim)
    assert isinstance(await service.begin(c, "terminal:tk_1", "same", H2), service.Claim)


async def test_a_stale_attempt_is_taken_over_and_cannot_answer_afterwards(c, clock):
    first = await service.begin(c, SCOPE, "k-1", H1, stale_after_s=60)
    clock.advance(seconds=61)
    second = await service.begin(c, SCOPE, "k-1", H1, stale_after_s=60)
    assert isinstance(second, service.Claim) and second.taken_over
    # The first (slow) attempt finishes late: it neither stores its answer nor deletes the record.
    assert not await service.complete(
        c, first, status_code=201, content_type="application/json", body={"id": 1}
    )
    await service.abandon(c, first)
    assert await service.complete(
        c, second, status_code=201, content_type="application/json", body={"id": 2}
    )
    replay = await service.begin(c, SCOPE, "k-1", H1)
    assert isinstance(replay, service.Replay) and replay.body == {"id": 2}


async def test_not_yet_stale_is_still_in_progress(c, clock):
    await service.begin(c, SCOPE, "k-1", H1, stale_after_s=60)
    clock.advance(seconds=59)
    with pytest.raises(Conflict):
        await service.begin(c, SCOPE, "k-1", H1, stale_after_s=60)


async def test_records_expire_and_are_cleaned_up(c, clock):
    claim = await service.begin(c, SCOPE, "old", H1)
    await _answer(c, claim)
    clock.advance(hours=24, seconds=1)
    fresh = await service.begin(c, SCOPE, "new", H1)
    await _answer(c, fresh)
    assert await service.cleanup_expired(c) == 1
    assert [r.key for r in await IdempotencyRecord.all()] == ["new"]


async def test_an_expired_key_counts_as_unused(c, clock):
    claim = await service.begin(c, SCOPE, "k-1", H1)
    await _answer(c, claim)
    clock.advance(hours=25)
    assert isinstance(await service.begin(c, SCOPE, "k-1", H2), service.Claim)


@pytest.mark.parametrize("key", ["", "x" * 129, "键-1", "tab\there", "nl\n"])
async def test_malformed_keys_are_refused(c, key):
    with pytest.raises(InvalidInput) as info:
        await service.begin(c, SCOPE, key, H1)
    assert info.value.status == 422 and info.value.code == "IDEMPOTENCY_KEY_INVALID"
    assert await IdempotencyRecord.all().count() == 0


async def test_longest_and_odd_printable_keys_are_fine(c):
    for key in ("x" * 128, "a b~!@#$%^&*()", "550e8400-e29b-41d4-a716-446655440000"):
        assert isinstance(await service.begin(c, SCOPE, key, H1), service.Claim)


async def test_concurrent_first_requests_let_exactly_one_run(c, on_postgres):
    async def attempt() -> str:
        try:
            outcome = await service.begin(c, SCOPE, "race", H1)
        except Conflict as exc:
            return exc.code
        return "claimed" if isinstance(outcome, service.Claim) else "replayed"

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert sorted(results) == ["IDEMPOTENCY_IN_PROGRESS"] * 9 + ["claimed"]
    assert await IdempotencyRecord.filter(key="race").count() == 1


async def test_concurrent_takeovers_of_a_stale_record_let_exactly_one_run(c, clock, on_postgres):
    await service.begin(c, SCOPE, "stale", H1, stale_after_s=10)
    clock.advance(seconds=11)

    async def attempt() -> bool:
        try:
            return isinstance(
                await service.begin(c, SCOPE, "stale", H1, stale_after_s=10), service.Claim
            )
        except Conflict:
            return False

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert results.count(True) == 1


# --- the decorator, through an app with the real authentication ---------------------------

effects: list[dict[str, Any]] = []
_ids = itertools.count(1)
probe = Sanic("idempotency-probe")
# Sanic's TouchUp compiles Sanic.handle_request at class level for the app being started, so a
# second app in the process would leave the test app a request handler that dispatches signals
# it does not have (a 500 in whichever test runs next); this probe keeps its hands off.
probe.config.TOUCHUP = False
register_error_handlers(probe)


@probe.post("/things")
@requires()
@idempotent
async def create_thing(request: Request) -> HTTPResponse:
    payload = request.json or {}
    if payload.get("invalid"):
        raise InvalidInput("名称不能为空")
    if payload.get("crash"):
        raise RuntimeError("boom")
    if payload.get("slow"):
        await asyncio.sleep(0.2)
    thing = {"id": next(_ids), "name": payload.get("name")}
    effects.append(thing)
    return json(thing, status=201, headers={"Location": f"/things/{thing['id']}"})


@probe.post("/terminal-things")
@terminal_auth
@idempotent
async def create_terminal_thing(request: Request) -> HTTPResponse:
    thing = {"id": next(_ids), "by": request.ctx.terminal.key_id}
    effects.append(thing)
    return json(thing, status=201)


@pytest.fixture
async def api(c):
    probe.ctx.container = c
    effects.clear()
    account = await Account.create(role=Role.CITIZEN, openid="idem-probe", display_name="张三")
    token = (await start_session(c, account)).access_token
    return probe.asgi_client, {"Authorization": f"Bearer {token}"}


async def test_decorator_replays_the_first_answer(api):
    client, auth = api
    headers = {**auth, "Idempotency-Key": "add-1"}
    _, first = await client.post("/things", json={"name": "张三"}, headers=headers)
    _, second = await client.post("/things", json={"name": "张三"}, headers=headers)
    assert first.status == second.status == 201
    assert first.json == second.json
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert len(effects) == 1


async def test_decorator_refuses_a_reused_key(api):
    client, auth = api
    headers = {**auth, "Idempotency-Key": "add-1"}
    await client.post("/things", json={"name": "张三"}, headers=headers)
    _, response = await client.post("/things", json={"name": "李四"}, headers=headers)
    assert response.status == 409
    assert response.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(effects) == 1


async def test_decorator_without_a_key_just_runs(api):
    client, auth = api
    for _ in range(2):
        _, response = await client.post("/things", json={"name": "张三"}, headers=auth)
        assert response.status == 201
    assert len(effects) == 2
    assert await IdempotencyRecord.all().count() == 0


@pytest.mark.parametrize("body", [{"invalid": True}, {"crash": True}])
async def test_decorator_does_not_store_failures(api, body):
    client, auth = api
    headers = {**auth, "Idempotency-Key": "fix-me"}
    _, failed = await client.post("/things", json=body, headers=headers)
    assert failed.status in (422, 500)
    assert await IdempotencyRecord.all().count() == 0
    _, fixed = await client.post("/things", json={"name": "张三"}, headers=headers)
    assert fixed.status == 201 and len(effects) == 1


async def test_decorator_refuses_a_malformed_key(api):
    client, auth = api
    _, response = await client.post(
        "/things", json={"name": "张三"}, headers={**auth, "Idempotency-Key": "x" * 129}
    )
    assert response.status == 422
    assert response.json["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert effects == []


async def test_decorator_answers_in_progress_to_an_overlapping_retry(api):
    client, auth = api
    headers = {**auth, "Idempotency-Key": "slow-1"}
    (_, a), (_, b) = await asyncio.gather(
        client.post("/things", json={"slow": True}, headers=headers),
        client.post("/things", json={"slow": True}, headers=headers),
    )
    assert sorted([a.status, b.status]) == [201, 409]
    loser = a if a.status == 409 else b
    assert loser.json["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert len(effects) == 1


async def test_decorator_needs_authentication_first(api):
    client, _ = api
    _, response = await client.post("/things", json={}, headers={"Idempotency-Key": "k"})
    assert response.status == 401
    assert await IdempotencyRecord.all().count() == 0


async def test_decorator_scopes_terminal_commands_by_terminal(c, api):
    client, _ = api
    term = await make_terminal(c)
    body = b'{"n":1}'
    answers = []
    for _ in range(2):
        headers = terminal_headers(c, term, "POST", "/terminal-things", body)
        headers["Idempotency-Key"] = "t-1"
        _, response = await client.post("/terminal-things", content=body, headers=headers)
        answers.append(response)
    assert [r.status for r in answers] == [201, 201]
    assert answers[0].json == answers[1].json
    assert len(effects) == 1
    record = await IdempotencyRecord.get(key="t-1")
    assert record.scope == f"terminal:{term.identity.key_id}"
