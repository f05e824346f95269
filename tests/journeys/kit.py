"""The journey suite's client: the public HTTP API only, with the logins `yibao seed-demo`
prints, and invoices printed by the project's receipt generator (bench/ocr_synth.py)."""

from __future__ import annotations

import io
import random
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw

from backend.demo.cast import DEMO_PASSWORD
from backend.terminals.service import sign_request
from bench import ocr_synth as synth

API = "/api/v1"
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def moments_not_utc(value: Any, path: str = "") -> list[str]:
    """Timestamps in a response that break the one convention (ISO 8601 in UTC, +00:00)."""
    if isinstance(value, dict):
        return [bad for k, v in value.items() for bad in moments_not_utc(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [bad for i, v in enumerate(value) for bad in moments_not_utc(v, f"{path}[{i}]")]
    if isinstance(value, str) and MOMENT.match(value) and not value.endswith("+00:00"):
        return [f"{path}={value}"]
    return []


BANK = {"bank_name": "中国工商银行杭州分行", "bank_account": "6222021234567890123"}


def document(title: str, seed: int) -> bytes:
    """A scanned supporting document: a page with a title and some lines (PNG)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (900, 1200), (250, 250, 247))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 860, 1160), outline=(30, 30, 30), width=3)
    draw.text((80, 80), title.encode("ascii", "replace").decode(), fill=(0, 0, 0))
    for i in range(18):
        y = 160 + i * 52
        draw.line((80, y, 80 + rng.randint(300, 760), y), fill=(60, 60, 60), width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def receipt(
    *,
    payer: str,
    day: date,
    total: Decimal,
    seed: int,
    visit_type: str = "outpatient",
) -> tuple[bytes, dict[str, Any]]:
    """A clean scan of an electronic receipt paid out of pocket (nothing paid by the fund)."""
    rng = random.Random(f"journey-{seed}")
    r = synth.make_receipt(rng, visit_type=visit_type, electronic=True)
    n = len(r.items)
    share = (total / n).quantize(Decimal("0.01"))
    items = [(name, share, qty) for name, _, qty in r.items[:-1]]
    items.append((r.items[-1][0], total - share * (n - 1), r.items[-1][2]))
    r = replace(
        r,
        payer_name=payer,
        issue_date=day,
        admit=day,
        discharge=day,
        items=items,
        insurance_type="自费",
        fund_paid=Decimal("0.00"),
        other_paid=Decimal("0.00"),
        personal_account_paid=Decimal("0.00"),
        personal_cash_paid=total,
        self_pay=Decimal("0.00"),
        self_expense=Decimal("0.00"),
        invoice_code=f"330{rng.choice(['01', '06'])}{day.year % 100:02d}{rng.randint(10, 99)}",
    )
    fonts = synth.find_cjk_fonts()
    img = synth.LAYOUTS["electronic"](r, synth.Fonts(fonts[0]), rng)
    out, _ = synth.scan(img, rng)
    return synth.encode(out, rng, fmt="png"), r.ground_truth()


class Journey:
    """HTTP calls as the app, the console and a terminal make them."""

    def __init__(self, client: Any, report: str) -> None:
        self.client = client
        self.report = report
        self.tokens: dict[str, dict[str, str]] = {}

    async def call(
        self,
        method: str,
        path: str,
        who: str | None = None,
        json: Any = None,
        expect: int | None = 200,
        **kw: Any,
    ) -> Any:
        headers = {**(self.tokens[who] if who else {}), **kw.pop("headers", {})}
        fn = getattr(self.client, method)
        if json is not None:
            kw["json"] = json
        _, resp = await fn(API + path, headers=headers, **kw)
        if expect is not None:
            assert resp.status == expect, (method, path, who, resp.status, resp.body[:600])
        if resp.content_type.startswith("application/json"):
            assert not moments_not_utc(resp.json), (path, moments_not_utc(resp.json))
        return resp

    async def get(self, path: str, who: str, expect: int = 200) -> Any:
        return (await self.call("get", path, who, expect=expect)).json

    async def post(self, path: str, who: str, json: Any = None, expect: int = 200) -> Any:
        return (
            await self.call("post", path, who, json={} if json is None else json, expect=expect)
        ).json

    # -- logins as printed by seed-demo --------------------------------------------------------

    async def staff(self, username: str) -> str:
        assert username in self.report
        resp = await self.call(
            "post", "/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD}
        )
        self.tokens[username] = {"Authorization": f"Bearer {resp.json['access_token']}"}
        return username

    async def citizen(self, user: str) -> str:
        assert user in self.report
        code = (await self.call("post", "/dev/login-code", json={"user": user})).json["code"]
        resp = await self.call("post", "/auth/citizen/login", json={"code": code})
        assert resp.json["bound"] is True, "demo citizens are bound to their person"
        self.tokens[user] = {"Authorization": f"Bearer {resp.json['access_token']}"}
        return user

    def demo_id_number(self, name: str) -> str:
        """The fictitious ID number the walkthrough prints for ``name``."""
        match = re.search(rf"{name} (\d{{17}}[\dX])", self.report)
        assert match, f"{name}'s ID number is not in the demo walkthrough"
        return match.group(1)

    def terminal(self) -> tuple[str, str]:
        match = re.search(r"终端 key id: (tk_[0-9a-f]+)  secret: ([^，\s]+)", self.report)
        assert match, "the demo terminal is not in the demo report"
        return match.group(1), match.group(2)

    async def terminal_post(self, path: str, payload: Any, now_s: int) -> Any:
        import json as _json

        key_id, secret = self.terminal()
        raw = _json.dumps(payload, ensure_ascii=False).encode()
        headers = sign_request(key_id, secret, "POST", API + path, raw, timestamp=now_s)
        _, resp = await self.client.post(
            API + path, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        return resp

    # -- documents and cases --------------------------------------------------------------------

    async def upload(self, who: str, key: str, seed: int, **target: Any) -> dict[str, str]:
        """Upload a supporting document; the material entry that names it."""
        data = {k: str(v) for k, v in target.items()}
        resp = await self.call(
            "post",
            "/case-materials",
            who,
            expect=201,
            files={"file": (f"{key}.png", document(key, seed), "image/png")},
            data=data,
        )
        return {"key": key, "file_ref": resp.json["file_ref"]}

    async def case(self, case_id: int, who: str) -> dict[str, Any]:
        return await self.get(f"/cases/{case_id}", who)

    async def accept(self, case_id: int, who: str) -> dict[str, Any]:
        case = await self.case(case_id, who)
        assert case["state"] == "submitted", case
        return await self.post(
            f"/cases/{case_id}/acceptance", who, {"version": case["version"], "outcome": "accept"}
        )

    async def take_task(self, case_id: int, who: str) -> dict[str, Any]:
        queue = await self.get("/review/queue?size=100", who)
        tasks = [t for t in queue["items"] if t["case_id"] == case_id]
        assert tasks, f"case {case_id} is not in the queue of {who}"
        await self.post(f"/review/tasks/{tasks[0]['id']}/claim", who)
        return tasks[0]

    async def decide(self, case_id: int, who: str, decision: str = "approve") -> dict[str, Any]:
        task = await self.take_task(case_id, who)
        case = await self.case(case_id, who)
        return await self.post(
            f"/review/tasks/{task['id']}/decision",
            who,
            {"case_version": case["version"], "decision": decision},
        )

    async def issued_and_rated(
        self, case_id: int, citizen: str | None, score: int = 5, viewer: str | None = None
    ) -> None:
        """The case is issued, its document verifies by its code, and the applicant (when they
        use the app) rates it."""
        viewer = viewer or citizen
        assert viewer is not None
        case = await self.case(case_id, viewer)
        assert case["state"] == "issued", (case["state"], case.get("reason_text"))
        doc = await self.get(f"/cases/{case_id}/document", viewer)
        code = doc["verification_code"]
        check = (await self.call("get", f"/case-documents/verify/{code}")).json
        assert check["valid"] is True and check["verification_code"] == code, check
        assert check["title"] == doc["title"]
        if citizen is not None:
            rated = await self.post(f"/cases/{case_id}/rating", citizen, {"score": score})
            assert rated["rating"]["score"] == score
