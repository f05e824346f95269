"""Helpers for the claim tests: synthetic receipts (bench/ocr_synth.py), plain test photos,
a stand-in OCR reader for tests that are not about OCR, and API shortcuts."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from backend.claims.checks import CONFIRMED_OCR_KEYS
from tests.case_helpers import Api, People
from tests.factories import Login, enroll_for_this_year

BANK = {"bank_name": "中国工商银行杭州分行", "bank_account": "6222021234567890123"}


def test_photo(seed: int, size: tuple[int, int] = (900, 1200), fmt: str = "JPEG") -> bytes:
    """A distinct picture per seed (far apart in photo hash)."""
    blocks = np.random.default_rng(seed).integers(0, 255, (8, 6, 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


test_photo.__test__ = False  # type: ignore[attr-defined]


def receipt_values(**overrides: Any) -> dict[str, Any]:
    values = {
        "invoice_code": "33060125",
        "invoice_number": "0012345678",
        "issue_date": "2025-09-01",
        "payer_name": "李小明",
        "hospital_name": "杭州市第一人民医院",
        "visit_type": "outpatient",
        "total_amount": "1000.00",
        "self_expense": "0.00",
        "fund_paid": "0.00",
        "other_paid": "0.00",
    }
    return {**values, **overrides}


def proposal(values: dict[str, Any]) -> dict[str, Any]:
    box = [[10, 10], [200, 10], [200, 40], [10, 40]]
    return {
        "fields": {k: {"value": v, "confidence": 0.97, "box": box} for k, v in values.items()},
        "checks": {},
        "engine": "fake",
        "meta": {},
    }


class FakeReader:
    """Stands in for the OCR engine: image bytes → a prepared reading; can fail N times."""

    def __init__(self) -> None:
        self.readings: dict[bytes, dict[str, Any]] = {}
        self.fail_times = 0
        self.calls = 0

    def add(self, image: bytes, values: dict[str, Any]) -> bytes:
        self.readings[image] = proposal(values)
        return image

    def __call__(self, image: bytes, engine: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise RuntimeError("engine crashed")
        return self.readings[image]


def files(data: bytes, name: str = "invoice.jpg", ctype: str = "image/jpeg") -> dict[str, Any]:
    return {"file": (name, data, ctype)}


async def new_claim(api: Api, who: Login, **body: Any) -> dict[str, Any]:
    return await api.post("/claims", who, body, expect=201)


async def upload(
    api: Api, who: Login, claim_id: int, data: bytes, expect: int = 201, **kw: Any
) -> Any:
    resp = await api.call(
        "post", f"/claims/{claim_id}/invoices", who, files=files(data, **kw), expect=expect
    )
    return resp.json


def confirmation(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {k: values[k] for k in CONFIRMED_OCR_KEYS if values.get(k) is not None}
    return {"institution_level": "primary", "care_region_code": "330100", **body, **extra}


async def submit(api: Api, who, claim: dict, expect: int = 200) -> dict:
    return await api.post(
        f"/claims/{claim['id']}/submit", who, {"version": claim["version"], **BANK}, expect=expect
    )


async def to_review(api: Api, ppl: People, claim: dict) -> tuple[dict, dict]:
    """Front-desk acceptance, then the reviewer claims the task."""
    case = claim["case"]
    await api.post(
        f"/cases/{case['id']}/acceptance",
        ppl.front_desk,
        {"version": case["version"], "outcome": "accept"},
    )
    task = await api.open_task(case["id"], ppl.reviewer)
    await api.post(f"/review/tasks/{task['id']}/claim", ppl.reviewer)
    return case, task


async def decide(api: Api, who, task: dict, case_id: int, expect: int = 200, **body) -> dict:
    fresh = await api.get(f"/cases/{case_id}", who)
    return await api.post(
        f"/review/tasks/{task['id']}/decision",
        who,
        {"case_version": fresh["version"], "decision": "approve", **body},
        expect=expect,
    )


async def in_review_confirmed(
    api: Api, ppl: People, c: Any, reader: FakeReader, seed: int, values: dict, **extra: Any
) -> tuple[dict, dict, dict]:
    """A submitted claim in review with its one invoice confirmed as read."""
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], reader.add(test_photo(seed), values))
    await c.jobs.drain()
    claim = await submit(api, ppl.citizen, await api.get(f"/claims/{claim['id']}", ppl.citizen))
    case, task = await to_review(api, ppl, claim)
    review = await api.get(f"/review/claims/{claim['id']}", ppl.reviewer)
    inv = review["invoices"][0]
    path = f"/review/claims/{claim['id']}/invoices/{inv['id']}/confirmation"
    review = (await api.call("put", path, ppl.reviewer, json=confirmation(values, **extra))).json
    return review, case, task


# -- fixtures (import them into a test module to use them) -----------------------------------


@pytest.fixture
async def ppl(ppl: People, c) -> People:
    for citizen in (ppl.citizen, ppl.other_citizen):  # insured in 2025, the care year
        await enroll_for_this_year(c, citizen.person.id)
    return ppl


@pytest.fixture
def reader(monkeypatch, c) -> FakeReader:
    fake = FakeReader()
    monkeypatch.setattr(c, "invoice_reader", fake)
    monkeypatch.setattr(c.jobs, "delay_scale", 0)
    return fake
