"""Reimbursement claims through the HTTP API: the full lifecycle with a real OCR run,
upload validation, duplicates, OCR failure and retry, scoping and bad input."""
# ruff: noqa: F811  (the api, ppl and reader fixtures are imported, then requested by name)

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from backend.claims.models import (
    Claim,
    ClaimInvoice,
    Disbursement,
    OcrStatus,
    RegisteredInvoice,
)
from backend.enrollment.models import Enrollment, EnrollmentStatus
from bench import einvoice_synth as esynth
from bench import ocr_synth as synth
from tests.case_helpers import FRIDAY
from tests.claim_helpers import (
    BANK,
    confirmation,
    decide,
    new_claim,
    ppl,  # noqa: F401  (fixture)
    reader,  # noqa: F401  (fixture)
    receipt_values,
    submit,
    test_photo,
    to_review,
    upload,
)
from tests.conftest import require
from tests.factories import enroll_for_this_year, make_citizen, make_id_number

# -- the whole lifecycle, with the real OCR engine --------------------------------------------


@pytest.fixture(scope="module")
def receipt():
    require(bool(synth.find_cjk_fonts()), "a CJK font (fonts-noto-cjk)")
    # electronic outpatient receipt from Hangzhou, 2025-09-03, payer 夏波, total 787.64,
    # self-expense 2.00, fund 567.10, other 20.24 (see bench/ocr_synth.py, seed 11, index 8)
    return synth.make_sample(
        8, 11, layout="electronic", visit_type="outpatient", difficulty="clean"
    )


async def test_claim_lifecycle_with_real_ocr(api, ppl, c, receipt):
    truth = receipt.truth["fields"]
    citizen = await make_citizen(c, "claim-owner", name=truth["payer_name"])
    await enroll_for_this_year(c, citizen.person.id)
    claim = await new_claim(api, citizen)
    assert claim["status"] == "draft" and claim["number"].startswith("BX20250926")

    up = await upload(api, citizen, claim["id"], receipt.data, name="IMG_0001.JPG")
    assert up["claim"]["invoices"][0]["ocr_status"] == "pending"
    await c.jobs.drain()  # the OCR job ran in the background

    claim = await api.get(f"/claims/{claim['id']}", citizen)
    inv = claim["invoices"][0]
    assert inv["ocr_status"] == "done"
    assert inv["recognised"]["invoice_number"] == truth["invoice_number"]
    assert inv["recognised"]["total_amount"] == truth["total_amount"]
    assert any("统筹基金支付" in n for n in inv["notices"])  # fund_paid > 0 is flagged

    claim = await submit(api, citizen, claim)
    assert claim["status"] == "submitted" and claim["bank_account"] == "***************0123"
    assert BANK["bank_account"] not in str(claim)
    case, task = await to_review(api, ppl, claim)

    # approval is guarded until the reviewer confirmed the reading
    refused = await decide(api, ppl.reviewer, task, case["id"], expect=409)
    assert refused["error"]["code"] == "SERVICE_NOT_READY"
    assert "票据1的识别结果尚未确认" in refused["error"]["details"]["open_items"]

    review = await api.get(f"/review/claims/{claim['id']}", ppl.reviewer)
    proposal = review["invoices"][0]["proposal"]
    assert proposal["engine"] == "rapidocr"
    number = proposal["fields"]["invoice_number"]
    assert number["value"] == truth["invoice_number"] and 0 < number["confidence"] <= 1
    assert len(number["box"]) == 4
    assert proposal["suggested"]["care_region_code"] == "330100"  # Zhejiang code: local care
    image = await api.call(
        "get", review["invoices"][0]["image_url"].removeprefix("/api/v1"), ppl.reviewer
    )
    assert image.content_type == "image/jpeg" and image.body == receipt.data

    values = {k: (proposal["fields"][k]["value"]) for k in proposal["fields"]}
    body = confirmation(values, hospital_name="杭州市第三人民医院（院本部）")  # one correction
    path = f"/review/claims/{claim['id']}/invoices/{inv['id']}/confirmation"
    review = (await api.call("put", path, ppl.reviewer, json=body)).json
    confirmed = review["invoices"][0]
    assert confirmed["corrected_fields"] == ["hospital_name"]
    assert confirmed["proposal"]["fields"]["hospital_name"]["value"] == truth["hospital_name"]
    assert confirmed["confirmed"]["hospital_name"] == "杭州市第三人民医院（院本部）"
    # 787.64 − 2.00 − 567.10 − 20.24 = 198.30, no deductible (primary), × 60 % = 118.98
    assert review["calculation"]["payable_fen"] == 11898
    assert review["open_items"] == [] and review["case"]["required_levels"] == 1

    case_view = await decide(api, ppl.reviewer, task, case["id"])
    assert case_view["state"] == "issued" and case_view["amount"] == "118.98"

    mine = await api.get(f"/claims/{claim['id']}", citizen)
    assert mine["status"] == "approved"
    payout = mine["payout"]
    assert payout["amount"] == "118.98元" and payout["status"] == "scheduled"
    # 10 working days after Fri 2025-09-26, over the National Day holidays (Sep 28, Oct 11 worked)
    assert payout["due_date"] == "2025-10-16"
    assert payout["bank_account"].endswith("0123") and "6222021234" not in str(payout)
    lines = payout["explanation"]
    assert "减 统筹基金已支付：567.10元" in lines and "本次报销金额：118.98元" in lines
    assert any("2025年10月16日前汇入" in line for line in lines)
    d = await Disbursement.get(claim_id=claim["id"])
    assert d.amount_fen == 11898 and BANK["bank_account"] not in d.bank_account_enc

    stats = await api.get("/review/ocr-stats?date_from=2025-09-01&date_to=2025-09-30", ppl.reviewer)
    by_field = {f["field"]: f for f in stats["fields"]}
    assert by_field["hospital_name"] == {
        "field": "hospital_name",
        "reviewed": 1,
        "corrected": 1,
        "correction_rate": "1.0000",
    }
    assert by_field["invoice_number"]["corrected"] == 0

    # nobody else sees any of it
    other = ppl.other_citizen
    await api.get(f"/claims/{claim['id']}", other, expect=404)
    await api.call("get", f"/claims/{claim['id']}/invoices/{inv['id']}/image", other, expect=404)
    await api.get(f"/review/claims/{claim['id']}", ppl.reviewer3, expect=404)  # other category


# -- uploads ---------------------------------------------------------------------------------


async def test_bad_uploads_are_refused_and_nothing_is_stored(api, ppl, c):
    import struct
    import zlib

    claim = await new_claim(api, ppl.citizen)
    cid = claim["id"]

    def png_bomb() -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = struct.pack(">I", zlib.crc32(kind + data))
            return struct.pack(">I", len(data)) + kind + data + crc

        ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b"")
        )

    good = test_photo(1)
    cases = [
        (b"GIF89a" + b"\0" * 500, "x.jpg", 415, "FILE_TYPE_UNSUPPORTED"),  # name says jpg
        (
            b"\xff\xd8\xff" + b"\0" * (c.settings.upload_max_bytes + 1),
            "big.jpg",
            413,
            "FILE_TOO_LARGE",
        ),
        (png_bomb(), "bomb.png", 422, "IMAGE_TOO_LARGE"),
        (good[: len(good) // 2], "cut.jpg", 422, "FILE_CORRUPT"),
        (b"%PDF-1.4\n%%garbage" * 20, "bad.pdf", 422, "FILE_CORRUPT"),
    ]
    for data, name, status, code in cases:
        body = await upload(api, ppl.citizen, cid, data, expect=status, name=name)
        assert body["error"]["code"] == code, name
    resp = await api.call("post", f"/claims/{cid}/invoices", ppl.citizen, expect=422)
    assert resp.json["error"]["code"] == "FILE_REQUIRED"
    assert await ClaimInvoice.filter(claim_id=cid).count() == 0
    files = Path(c.settings.data_dir) / "files" / "claims"
    assert not files.exists() or not any(p.is_file() for p in files.rglob(f"{cid}/*"))


async def test_pdf_receipt_is_rendered_and_read(api, ppl, c, reader, monkeypatch):
    import io

    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(420, 595)
    buf = io.BytesIO()
    doc.save(buf)
    claim = await new_claim(api, ppl.citizen)
    seen: list[bytes] = []

    def record(image: bytes, engine: str) -> dict:  # the rendered page is what OCR reads
        seen.append(image)
        return {"fields": {}, "checks": {}, "engine": "fake", "meta": {}}

    monkeypatch.setattr(c, "invoice_reader", record)
    await upload(
        api, ppl.citizen, claim["id"], buf.getvalue(), name="e.pdf", ctype="application/pdf"
    )
    await c.jobs.drain()
    assert seen and seen[0].startswith(b"\x89PNG")
    inv = await ClaimInvoice.get(claim_id=claim["id"])
    assert inv.content_type == "application/pdf" and inv.image_key.endswith("-page1.png")
    assert inv.ocr_status is OcrStatus.DONE


async def test_pdf_and_ofd_e_invoices_are_read_exactly_and_a_forged_qr_blocks(api, ppl, c):
    good = esynth.make_einvoice(0, 21, fmt="pdf")
    forged = esynth.make_einvoice(1, 21, fmt="ofd", tamper="total_amount")
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], good.data, name="e.pdf", ctype="application/pdf")
    await upload(
        api,
        ppl.citizen,
        claim["id"],
        forged.data,
        name="票据.ofd",
        ctype="application/octet-stream",
    )
    await c.jobs.drain()
    invs = await ClaimInvoice.filter(claim_id=claim["id"]).order_by("id")
    assert [i.content_type for i in invs] == ["application/pdf", "application/ofd"]
    for inv, e in zip(invs, (good, forged), strict=True):
        assert inv.ocr_status is OcrStatus.DONE and inv.proposal["engine"] == f"{e.fmt}-text"
        values = {k: f["value"] for k, f in inv.proposal["fields"].items()}
        for key, expected in e.truth["fields"].items():
            if key != "items":
                assert values[key] == expected, key
        assert len(values["items"]) == len(e.truth["fields"]["items"])
    assert not any(f["code"] == "QR_MISMATCH" for f in invs[0].flags)
    qr = [f for f in invs[1].flags if f["code"] == "QR_MISMATCH"]
    assert qr and qr[0]["blocking"] is True and "金额" in qr[0]["message"]
    image = await api.call("get", f"/claims/{claim['id']}/invoices/{invs[1].id}/image", ppl.citizen)
    assert image.content_type == "image/png"


# -- duplicates --------------------------------------------------------------------------------


async def test_same_invoice_twice_is_refused_and_same_photo_is_flagged(api, ppl, c, reader):
    photo = reader.add(test_photo(11), receipt_values())
    first = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, first["id"], photo)
    await c.jobs.drain()
    first = await submit(api, ppl.citizen, await api.get(f"/claims/{first['id']}", ppl.citizen))
    assert await RegisteredInvoice.filter(claim_id=first["id"]).count() == 1

    # the same photo again, in another claim: flagged at upload, refused at submission
    second = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, second["id"], photo)
    await c.jobs.drain()
    inv = await ClaimInvoice.get(claim_id=second["id"])
    codes = [f["code"] for f in inv.flags]
    assert "SAME_PHOTO" in codes and "DUPLICATE_INVOICE" in codes
    second = await api.get(f"/claims/{second['id']}", ppl.citizen)
    refused = await submit(api, ppl.citizen, second, expect=409)
    assert refused["error"]["code"] == "DUPLICATE_INVOICE"
    assert refused["error"]["details"]["other_claim"] == first["number"]
    assert (await Claim.get(id=second["id"])).status.value == "draft"  # nothing changed

    # a different photo of the same invoice (another angle): not the same photo, still refused
    third = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, third["id"], reader.add(test_photo(12), receipt_values()))
    await c.jobs.drain()
    inv = await ClaimInvoice.get(claim_id=third["id"])
    assert [f["code"] for f in inv.flags if f["code"] == "SAME_PHOTO"] == []
    third = await api.get(f"/claims/{third['id']}", ppl.citizen)
    await submit(api, ppl.citizen, third, expect=409)


async def test_reviewer_correcting_to_a_claimed_number_gets_a_friendly_409(api, ppl, c, reader):
    a = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, a["id"], reader.add(test_photo(21), receipt_values()))
    b = await new_claim(api, ppl.citizen)
    other = receipt_values(invoice_number="0099999999")
    await upload(api, ppl.citizen, b["id"], reader.add(test_photo(22), other))
    await c.jobs.drain()
    a = await submit(api, ppl.citizen, await api.get(f"/claims/{a['id']}", ppl.citizen))
    b = await submit(api, ppl.citizen, await api.get(f"/claims/{b['id']}", ppl.citizen))
    await to_review(api, ppl, b)
    review = await api.get(f"/review/claims/{b['id']}", ppl.reviewer)
    inv_id = review["invoices"][0]["id"]
    body = confirmation(receipt_values())  # the reviewer reads a's number on b's photo
    resp = await api.call(
        "put",
        f"/review/claims/{b['id']}/invoices/{inv_id}/confirmation",
        ppl.reviewer,
        json=body,
        expect=409,
    )
    assert resp.json["error"]["code"] == "DUPLICATE_INVOICE"
    assert (await ClaimInvoice.get(id=inv_id)).confirmed is None  # nothing changed


# -- OCR job failure and retry -------------------------------------------------------------------


async def test_ocr_that_fails_twice_then_succeeds_is_retried(api, ppl, c, reader):
    reader.fail_times = 2
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], reader.add(test_photo(31), receipt_values()))
    await c.jobs.drain()
    inv = await ClaimInvoice.get(claim_id=claim["id"])
    assert reader.calls == 3 and inv.ocr_attempts == 3
    assert inv.ocr_status is OcrStatus.DONE and inv.proposal["engine"] == "fake"


async def test_ocr_that_always_fails_leaves_the_claim_in_manual_entry(api, ppl, c, reader):
    reader.fail_times = 99
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], test_photo(41))
    await c.jobs.drain()
    inv = await ClaimInvoice.get(claim_id=claim["id"])
    assert inv.ocr_status is OcrStatus.MANUAL and inv.ocr_error == "RuntimeError"
    assert reader.calls == c.settings.ocr_attempts
    # the claim goes on: submitted, visible to the reviewer, values typed in from the image
    claim = await submit(api, ppl.citizen, await api.get(f"/claims/{claim['id']}", ppl.citizen))
    case, task = await to_review(api, ppl, claim)
    review = await api.get(f"/review/claims/{claim['id']}", ppl.reviewer)
    row = review["invoices"][0]
    assert row["ocr_status"] == "manual" and row["proposal"]["fields"] == {}
    assert any(f["code"] == "OCR_FAILED" for f in row["flags"])
    path = f"/review/claims/{claim['id']}/invoices/{row['id']}/confirmation"
    review = (await api.call("put", path, ppl.reviewer, json=confirmation(receipt_values()))).json
    assert review["calculation"]["payable_fen"] == 60000  # 1000 × 60 %, primary
    await decide(api, ppl.reviewer, task, case["id"])
    stats = await api.get("/review/ocr-stats?date_from=2025-09-01&date_to=2025-09-30", ppl.reviewer)
    assert stats["manual_entries"] == 1
    assert all(f["reviewed"] == 0 for f in stats["fields"])  # manual entry is not an OCR miss


# -- checks, review levels, rejection ------------------------------------------------------------


async def test_payer_mismatch_blocks_approval_until_rejected_and_releases_the_invoice(
    api, ppl, c, reader
):
    values = receipt_values(payer_name="王小二")
    photo = reader.add(test_photo(51), values)
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], photo)
    await c.jobs.drain()
    claim = await submit(api, ppl.citizen, await api.get(f"/claims/{claim['id']}", ppl.citizen))
    case, task = await to_review(api, ppl, claim)
    review = await api.get(f"/review/claims/{claim['id']}", ppl.reviewer)
    path = f"/review/claims/{claim['id']}/invoices/{review['invoices'][0]['id']}/confirmation"
    review = (await api.call("put", path, ppl.reviewer, json=confirmation(values))).json
    assert review["open_items"] == ["票据1：票据交款人与参保人姓名不一致"]
    await decide(api, ppl.reviewer, task, case["id"], expect=409)
    rejected = await decide(
        api, ppl.reviewer, task, case["id"], decision="reject", reason_code="J06"
    )
    assert rejected["state"] == "rejected"
    assert (await Claim.get(id=claim["id"])).status.value == "rejected"
    assert await RegisteredInvoice.filter(claim_id=claim["id"]).count() == 0  # free again


async def test_large_amount_needs_a_second_reviewer(api, ppl, c, reader):
    values = receipt_values(visit_type="inpatient", total_amount="20000.00")
    claim = await new_claim(api, ppl.citizen)
    await upload(api, ppl.citizen, claim["id"], reader.add(test_photo(61), values))
    await c.jobs.drain()
    claim = await submit(api, ppl.citizen, await api.get(f"/claims/{claim['id']}", ppl.citizen))
    case, task = await to_review(api, ppl, claim)
    review = await api.get(f"/review/claims/{claim['id']}", ppl.reviewer)
    path = f"/review/claims/{claim['id']}/invoices/{review['invoices'][0]['id']}/confirmation"
    body = confirmation(values, institution_level="tertiary")
    review = (await api.call("put", path, ppl.reviewer, json=body)).json
    assert review["calculation"]["payable_fen"] == 1_235_000  # (20000 − 1000) × 65 %
    assert review["case"]["required_levels"] == 2
    after = await decide(api, ppl.reviewer, task, case["id"])
    assert after["state"] == "in_review" and after["review_level"] == 2
    assert not await Disbursement.exists(claim_id=claim["id"])
    task2 = await api.open_task(case["id"], ppl.reviewer2)
    await api.post(f"/review/tasks/{task2['id']}/claim", ppl.reviewer2)
    done = await decide(api, ppl.reviewer2, task2, case["id"])
    assert done["state"] == "issued"
    assert (await Disbursement.get(claim_id=claim["id"])).amount_fen == 1_235_000


# -- scoping and bad input -------------------------------------------------------------------------


async def test_other_peoples_claims_are_not_found(api, ppl, c, reader):
    claim = await new_claim(api, ppl.citizen)
    inv = await upload(api, ppl.citizen, claim["id"], reader.add(test_photo(71), receipt_values()))
    await c.jobs.drain()
    other = ppl.other_citizen
    await api.get(f"/claims/{claim['id']}", other, expect=404)
    await upload(api, other, claim["id"], test_photo(72), expect=404)
    await api.call(
        "delete", f"/claims/{claim['id']}/invoices/{inv['invoice_id']}", other, expect=404
    )
    await api.post(f"/claims/{claim['id']}/submit", other, {"version": 1, **BANK}, expect=404)
    await api.get(f"/claims/{claim['id']}", ppl.clerk_b, expect=404)  # station staff elsewhere
    await api.get(f"/review/claims/{claim['id']}", ppl.reviewer, expect=404)  # still a draft
    # someone else's person id: no claim for them
    body = await api.post("/claims", other, {"person_id": ppl.citizen.person.id}, expect=404)
    assert body["error"]["code"] == "PERSON_NOT_FOUND"
    assert (await api.get("/claims", other))["items"] == []


async def test_malformed_and_mistyped_bodies_are_4xx(api, ppl, client):
    claim = await new_claim(api, ppl.citizen)
    _, resp = await client.post(
        f"/api/v1/claims/{claim['id']}/submit",
        content=b"{not json",
        headers={**ppl.citizen.headers, "Content-Type": "application/json"},
    )
    assert resp.status == 422 and resp.json["error"]["code"] == "MALFORMED_JSON"
    bad = await api.post(
        f"/claims/{claim['id']}/submit", ppl.citizen, {"version": "1", **BANK}, expect=422
    )
    assert bad["error"]["details"]["fields"][0]["field"] == "version"
    await api.post("/claims", ppl.citizen, {"person_id": "me"}, expect=422)
    await api.post("/claims", ppl.citizen, {"extra": 1}, expect=422)
    no_invoice = await api.post(
        f"/claims/{claim['id']}/submit", ppl.citizen, {"version": 1, **BANK}, expect=422
    )
    assert no_invoice["error"]["code"] == "INVOICES_REQUIRED"
    bad_account = await api.post(
        f"/claims/{claim['id']}/submit",
        ppl.citizen,
        {"version": 1, "bank_name": "某银行", "bank_account": "abc" * 5},
        expect=422,
    )
    assert bad_account["error"]["code"] == "BANK_ACCOUNT_INVALID"
    await api.get("/review/ocr-stats?date_from=2025-13-01&date_to=x", ppl.reviewer, expect=422)


async def test_reimbursement_cases_are_only_created_through_claims(api, ppl):
    body = await api.post(
        "/cases",
        ppl.citizen,
        {
            "service_code": "reimbursement",
            "form": {"claim_number": "BX1"},
            "materials": [{"key": "invoice", "file_ref": "x"}],
        },
        expect=422,
    )
    assert body["error"]["code"] == "SERVICE_HAS_OWN_ENTRY"


async def test_station_clerk_files_a_claim_for_a_citizen_with_signed_authorisation(
    api, ppl, c, reader
):
    from backend.identity.persons import id_number_of

    id_number = id_number_of(c, ppl.citizen.person)
    claim = await api.post(
        "/station/claims", ppl.clerk, {"applicant_id_number": id_number}, expect=201
    )
    assert claim["channel"] == "station"
    await upload(api, ppl.clerk, claim["id"], reader.add(test_photo(81), receipt_values()))
    await c.jobs.drain()
    await upload(api, ppl.citizen, claim["id"], test_photo(82), expect=403)  # clerk's draft
    refused = await submit(api, ppl.clerk, claim, expect=422)
    assert refused["error"]["code"] == "AUTHORISATION_REQUIRED"
    assert (await Claim.get(id=claim["id"])).status.value == "draft"  # rolled back
    claim = await api.post(
        f"/claims/{claim['id']}/submit",
        ppl.clerk,
        {
            "version": claim["version"],
            **BANK,
            "authorisation_method": "signed_form",
            "authorisation_form_ref": "files/auth-1.pdf",
            "authorisation_form_number": "SQ-001",
        },
    )
    assert claim["case"]["state"] == "submitted"
    case = await api.get(f"/cases/{claim['case']['id']}", ppl.clerk)
    assert case["assisted"] is True and case["authorisation"]["status"] == "granted"
    mine = await api.get(f"/claims/{claim['id']}", ppl.citizen)  # the insured follows it too
    assert mine["number"] == claim["number"]
    await api.get(f"/claims/{claim['id']}", ppl.clerk_b, expect=404)


# -- insurance on the date of care (before any review) --------------------------------------------

NEWBORN = date(2025, 8, 10)


async def _insured(person_id: int, year: int, enrolled_at: date | None = None) -> None:
    moment = (
        FRIDAY.replace(year=enrolled_at.year, month=enrolled_at.month, day=enrolled_at.day)
        if enrolled_at
        else FRIDAY
    )
    await Enrollment.create(
        person_id=person_id,
        year=year,
        status=EnrollmentStatus.ENROLLED,
        enrolled_at=moment,
        channel="app",
    )


async def _submit_care_on(api, c, reader, who, day: date, seed: int, name: str) -> dict:
    claim = await new_claim(api, who)
    values = receipt_values(
        issue_date=day.isoformat(), payer_name=name, invoice_number=f"00{seed:08d}"
    )
    photo = reader.add(test_photo(seed), values)
    await upload(api, who, claim["id"], photo)
    await c.jobs.drain()
    claim = await api.get(f"/claims/{claim['id']}", who)
    resp = await api.call(
        "post",
        f"/claims/{claim['id']}/submit",
        who,
        json={"version": claim["version"], **BANK},
        expect=None,
    )
    return resp


@pytest.fixture
async def adult(c, clock):
    clock.set(FRIDAY)  # 2025-09-26
    who = await make_citizen(c, "coverage-adult", name="李小明")
    await _insured(who.person.id, 2024)  # 2024 paid, 2025 not: a lapsed year
    return who


async def test_last_insured_day_passes_and_the_lapsed_year_is_refused(api, c, reader, adult):
    resp = await _submit_care_on(api, c, reader, adult, date(2024, 12, 31), 1, "李小明")
    assert resp.status == 200, resp.json  # the last day of the paid year
    resp = await _submit_care_on(api, c, reader, adult, date(2025, 1, 1), 2, "李小明")
    assert resp.status == 422, resp.json
    error = resp.json["error"]
    assert error["code"] == "NOT_INSURED_ON_CARE_DATE" and "待遇享受期" in error["message"]
    assert error["details"]["care_date"] == "2025-01-01"


async def test_first_insured_day_passes(api, c, reader, adult):
    await _insured(adult.person.id, 2025)
    resp = await _submit_care_on(api, c, reader, adult, date(2025, 1, 1), 3, "李小明")
    assert resp.status == 200, resp.json


async def test_a_newborn_is_insured_from_birth_not_before(api, c, clock, reader):
    clock.set(FRIDAY)
    baby = await make_citizen(c, "coverage-baby", name="王小宝", id_number=make_id_number(NEWBORN))
    await _insured(baby.person.id, 2025, enrolled_at=date(2025, 9, 20))  # paid 41 days after
    resp = await _submit_care_on(api, c, reader, baby, NEWBORN, 4, "王小宝")
    assert resp.status == 200, resp.json  # the day of birth
    resp = await _submit_care_on(api, c, reader, baby, date(2025, 8, 9), 5, "王小宝")
    assert resp.json["error"]["code"] == "NOT_INSURED_ON_CARE_DATE"


async def test_a_policy_may_insure_newborns_only_from_payment(api, c, clock, reader, monkeypatch):
    clock.set(FRIDAY)
    table = c.policies.premium
    versions = tuple(
        v.model_copy(update={"newborn_covered_from_birth": False}) if v.year == 2025 else v
        for v in table.versions
    )
    monkeypatch.setattr(
        c,
        "policies",
        dataclasses.replace(c.policies, premium=dataclasses.replace(table, versions=versions)),
    )
    baby = await make_citizen(c, "coverage-baby2", name="王小贝", id_number=make_id_number(NEWBORN))
    await _insured(baby.person.id, 2025, enrolled_at=date(2025, 9, 20))
    resp = await _submit_care_on(api, c, reader, baby, date(2025, 9, 1), 6, "王小贝")
    assert resp.json["error"]["code"] == "NOT_INSURED_ON_CARE_DATE"
    resp = await _submit_care_on(api, c, reader, baby, date(2025, 9, 20), 7, "王小贝")
    assert resp.status == 200, resp.json
