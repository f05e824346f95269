"""Helpers for the case-workflow tests: people, stations and API calls."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from backend.clock import CHINA_TZ
from backend.container import Container
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.identity.tokens import start_session
from backend.stations.models import Station
from tests.factories import Login, make_citizen, make_staff, make_station_tree

API = "/api/v1"

# A Friday morning before the National Day holidays of 2025 (Oct 1-8; Sep 28 and Oct 11 worked).
FRIDAY = datetime(2025, 9, 26, 10, 0, tzinfo=CHINA_TZ)


@dataclass
class People:
    citizen: Login
    other_citizen: Login
    clerk: Login  # town A station staff
    clerk_b: Login  # town B station staff
    front_desk: Login  # reviewer doing 综合受理 of app requests
    reviewer: Login
    reviewer2: Login
    reviewer3: Login
    supervisor: Login
    admin: Login
    stations: dict[str, Station]


async def make_people(c: Container) -> People:
    stations = await make_station_tree(c)
    cats = ("enrollment", "reimbursement")
    return People(
        citizen=await make_citizen(c, "case-citizen", name="李小明"),
        other_citizen=await make_citizen(c, "case-other", name="王大力"),
        clerk=await make_staff(c, Role.STATION_STAFF, "clerk-a", station=stations["town_a"]),
        clerk_b=await make_staff(c, Role.STATION_STAFF, "clerk-b", station=stations["town_b"]),
        front_desk=await make_staff(c, Role.REVIEWER, "desk", categories=("front_desk",)),
        reviewer=await make_staff(c, Role.REVIEWER, "rev-1", categories=cats),
        reviewer2=await make_staff(c, Role.REVIEWER, "rev-2", categories=cats),
        reviewer3=await make_staff(c, Role.REVIEWER, "rev-3", categories=("chronic",)),
        supervisor=await make_staff(c, Role.SUPERVISOR, "boss"),
        admin=await make_staff(c, Role.ADMIN, "admin"),
        stations=stations,
    )


async def relogin(c: Container, ppl: People) -> None:
    """New access tokens after the clock moved past their 15 minutes."""
    for login in vars(ppl).values():
        if isinstance(login, Login):
            login.token = (await start_session(c, login.account)).access_token


class Api:
    """Thin wrappers over the ASGI client that assert the status they expect."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        who: Login,
        json: Any = None,
        expect: int | None = 200,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        h = {**who.headers, **(headers or {})}
        fn = getattr(self.client, method)
        if json is not None:
            _, resp = await fn(API + path, json=json, headers=h, **kw)
        else:
            _, resp = await fn(API + path, headers=h, **kw)
        if expect is not None:
            assert resp.status == expect, (resp.status, resp.body[:500])
        return resp

    async def get(self, path: str, who: Login, expect: int | None = 200, **kw: Any) -> Any:
        return (await self.call("get", path, who, expect=expect, **kw)).json

    async def post(
        self, path: str, who: Login, json: Any = None, expect: int | None = 200, **kw: Any
    ) -> Any:
        return (
            await self.call(
                "post", path, who, json=json if json is not None else {}, expect=expect, **kw
            )
        ).json

    async def claim_decide(
        self, case: dict, who: Login, decision: str = "approve", **extra: Any
    ) -> dict:
        task = await self.open_task(case["id"], who)
        await self.post(f"/review/tasks/{task['id']}/claim", who)
        fresh = await self.get(f"/cases/{case['id']}", who)
        return await self.post(
            f"/review/tasks/{task['id']}/decision",
            who,
            {"case_version": fresh["version"], "decision": decision, **extra},
        )

    async def open_task(self, case_id: int, who: Login) -> dict:
        queue = await self.get("/review/queue?size=100", who)
        tasks = [t for t in queue["items"] if t["case_id"] == case_id]
        assert tasks, f"case {case_id} not in the queue of {who.account.username}"
        return tasks[0]


def claim_form(amount: str = "1200.00") -> dict[str, Any]:
    return {"service_code": "test_claim", "form": {"amount": amount}}


ALL_CLAIM_MATERIALS = [
    {"key": "invoice", "file_ref": "files/invoice-1.jpg"},
    {"key": "medical_record", "file_ref": "files/record-1.jpg"},
]

requires_postgres = pytest.mark.usefixtures("on_postgres")


def document_png(seed: int) -> bytes:
    """A small distinct scanned document (a supporting material)."""
    blocks = np.random.default_rng(seed).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((500, 600), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class UploadingApi(Api):
    """An :class:`Api` whose JSON bodies may name materials by placeholder references
    (``files/...``): each is first uploaded through ``POST /case-materials`` by the caller,
    for the body's applicant (a station's ``applicant_id_number``), the case in the path, or
    the caller themselves."""

    async def post(
        self, path: str, who: Login, json: Any = None, expect: int | None = 200, **kw: Any
    ) -> Any:
        if isinstance(json, dict) and json.get("materials"):
            target: dict[str, Any] = {}
            if json.get("applicant_id_number"):
                target["applicant_id_number"] = json["applicant_id_number"]
            elif match := re.match(r"^/cases/(\d+)/", path):
                target["case_id"] = int(match.group(1))
            placeholders = [m for m in json["materials"] if m["file_ref"].startswith("files/")]
            refs = {m["key"]: m for m in await uploaded(self, who, placeholders, **target)}
            json = {**json, "materials": [refs.get(m["key"], m) for m in json["materials"]]}
        return await super().post(path, who, json, expect, **kw)


async def upload_documents(
    c: Container, principal: Principal, keys: list[str], **target: Any
) -> list[dict[str, str]]:
    """Material entries naming documents uploaded through the service (integration tests)."""
    from backend.cases import materials

    out = []
    for n, key in enumerate(keys):
        row = await materials.upload(c, principal, document_png(700 + n), **target)
        out.append({"key": key, "file_ref": materials.ref_of(row)})
    return out


def seed_of(key: str) -> int:
    return sum(map(ord, key))


async def uploaded(
    api: Api, who: Login, materials: list[dict[str, str]], **target: Any
) -> list[dict[str, str]]:
    """The same material entries, each naming a document uploaded through the API by ``who``
    (for themselves, or for ``applicant_id_number`` / ``case_id``)."""
    out = []
    for n, m in enumerate(materials):
        data = document_png(seed_of(m["key"]) + n)
        resp = await api.call(
            "post",
            "/case-materials",
            who,
            expect=201,
            files={"file": (f"{m['key']}.png", data, "image/png")},
            data={k: str(v) for k, v in target.items()},
        )
        out.append({"key": m["key"], "file_ref": resp.json["file_ref"]})
    return out
