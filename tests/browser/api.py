"""The public HTTP API of the server under test, for the steps a browser test does not show
(a citizen's app)."""

from __future__ import annotations

import io
import random
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from PIL import Image

from bench import ocr_synth as synth

BANK = {"bank_name": "中国工商银行杭州分行", "bank_account": "6222021234567890123"}


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=30)

    def citizen(self, user: str) -> dict[str, str]:
        code = self.http.post("/dev/login-code", json={"user": user}).json()["code"]
        token = self.http.post("/auth/citizen/login", json={"code": code}).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def staff(self, username: str, password: str = "Demo@2025") -> dict[str, str]:
        r = self.http.post("/auth/staff/login", json={"username": username, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def call(self, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
        r = self.http.request(method, path, headers=who, **kw)
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json()

    def wait_for_ocr(self, claim_id: int, who: dict[str, str], timeout_s: float = 900) -> dict:
        deadline = time.monotonic() + timeout_s  # a loaded machine: minutes, not seconds
        while time.monotonic() < deadline:
            claim = self.call("get", f"/claims/{claim_id}", who)
            if all(i["ocr_status"] != "pending" for i in claim["invoices"]):
                return claim
            time.sleep(0.5)
        raise AssertionError(f"OCR of claim {claim_id} did not finish in {timeout_s} s")

    def submit_claim(self, who: dict[str, str], image: bytes, **submit: Any) -> dict:
        claim = self.call("post", "/claims", who, json={})
        self.call(
            "post",
            f"/claims/{claim['id']}/invoices",
            who,
            files={"file": ("invoice.png", image, "image/png")},
        )
        claim = self.wait_for_ocr(claim["id"], who)
        body = {"version": claim["version"], **BANK, **submit}
        return self.call("post", f"/claims/{claim['id']}/submit", who, json=body)


def inpatient_receipt(payer: str, issued: date, seed: str = "console-browser-test") -> bytes:
    """An electronic inpatient receipt (the project's receipt generator) of 13,000.00 元 paid
    in cash by ``payer``, issued in Zhejiang on ``issued``; another ``seed``, another invoice
    number (the tests share one server, which refuses an invoice claimed twice)."""
    fonts = synth.find_cjk_fonts()
    rng = random.Random(seed)
    r = synth.make_receipt(rng, visit_type="inpatient", electronic=True)
    items = [
        ("床位费", Decimal("3000.00"), 10),
        ("西药费", Decimal("6000.00"), 1),
        ("检查费", Decimal("4000.00"), 1),
    ]
    zero = Decimal("0.00")
    r = replace(
        r,
        province="浙江省",
        province_code="33",
        hospital_name="杭州市第三人民医院",
        invoice_code="33010125" + r.invoice_code[-2:],
        payer_name=payer,
        issue_date=issued,
        discharge=issued,
        admit=issued - timedelta(days=6),
        items=items,
        fund_paid=zero,
        other_paid=zero,
        personal_account_paid=zero,
        personal_cash_paid=Decimal("13000.00"),
        self_pay=zero,
        self_expense=zero,
    )
    image = synth.render_electronic(r, synth.Fonts(fonts[0]), rng)
    out, _ = synth.scan(image, rng)
    return synth.encode(out, rng, fmt="png")


def signed_form_image() -> bytes:
    """A stand-in for a scanned signed authorisation form (a plain page)."""
    img = Image.new("RGB", (1240, 1754), (250, 250, 245))
    for y in range(200, 1500, 60):
        img.paste((40, 40, 40), (150, y, 1090, y + 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
