"""One masking policy: an ID number never beside a full birth date except for the person and
their guardians; addresses encrypted at rest and masked everywhere, the public verification page
too; and the guard that checks every JSON response of the suite (tests/pii_guard.py)."""

from __future__ import annotations

import re

from tortoise.connection import get_connection

from backend.cases.models import Case, CaseDocument
from backend.family.models import ConsentStatus, FamilyMember, Relation
from backend.identity.models import Role
from backend.identity.persons import find_or_create_person
from tests.factories import (
    adult_id_number,
    make_citizen,
    make_staff,
    make_station_tree,
    minor_id_number,
)
from tests.pii_guard import leaks

FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ADDRESS = "浙江省杭州市西湖区文三路 478 号 2 幢"


async def _family(c):
    me = await make_citizen(c, "owner", name="王建国")
    spouse = await find_or_create_person(c, "李秀英", adult_id_number(c, 33, seq=202))
    child = await find_or_create_person(c, "王小明", minor_id_number(c, 7))
    for member, relation, status in (
        (spouse, Relation.SPOUSE, ConsentStatus.GRANTED),
        (child, Relation.CHILD, ConsentStatus.NOT_REQUIRED),
    ):
        await FamilyMember.create(
            owner=me.person, member=member, relation=relation, consent_status=status
        )
    return me, spouse, child


async def test_the_masked_id_number_is_never_beside_someone_elses_full_birth_date(client, c):
    # The attack as reported: 3301**********1228 next to the full birth date left ~9 candidates.
    me, spouse, child = await _family(c)
    _, resp = await client.get("/api/v1/me", headers=me.headers)
    assert FULL_DATE.match(resp.json["person"]["birth_date"])  # the person themself
    _, resp = await client.get("/api/v1/me/family", headers=me.headers)
    members = {m["member"]["id"]: m["member"] for m in resp.json["items"]}
    assert members[spouse.id]["birth_date"] == f"{spouse.birth_date.year}-**-**"
    assert FULL_DATE.match(members[child.id]["birth_date"])  # the guardian of a minor
    # A clerk's look-up of the family shows years only.
    tree = await make_station_tree(c)
    clerk = await make_staff(c, Role.STATION_STAFF, "clerk", station=tree["village_a"])
    number = c.pii.decrypt(me.person.id_number_enc, "id_number")
    _, resp = await client.post(
        "/api/v1/station/citizen-lookup",
        json={"id_number": number, "reason": "帮办参保登记"},
        headers=clerk.headers,
    )
    assert resp.status == 200, resp.json
    shown = [resp.json["person"], *(m["member"] for m in resp.json["family"])]
    assert all(p["birth_date"].endswith("-**-**") for p in shown)


async def test_an_address_is_encrypted_at_rest_and_masked_even_on_the_public_page(client, c):
    # The attack as reported: addresses from 参保信息变更 stored in plain text and shown in full
    # on the public document verification page.
    me = await make_citizen(c, "mover", name="赵一")
    _, resp = await client.post(
        "/api/v1/cases",
        json={
            "service_code": "insurance_info_change",
            "form": {"change_type": "address", "new_address": ADDRESS},
        },
        headers=me.headers,
    )
    assert resp.status == 201, resp.json
    assert resp.json["form"]["new_address"] == "浙江省杭州市****"
    case_id = resp.json["id"]
    _, resp = await client.get(f"/api/v1/cases/{case_id}/document", headers=me.headers)
    assert resp.status == 200, resp.json
    code = resp.json["verification_code"]
    _, page = await client.get(f"/api/v1/case-documents/verify/{code}")
    assert page.status == 200 and ADDRESS not in page.text
    assert page.json["content"]["details"]["new_address"] == "浙江省杭州市****"
    db = get_connection("default")
    for table in ("workflow_case", "case_document", "case_event", "person", "audit_entry"):
        rows = await db.execute_query_dict(f"SELECT * FROM {table}")
        assert "文三路" not in str(rows), table
    case = await Case.get(id=case_id)
    assert "new_address" not in case.form and case.form_secret
    assert (await CaseDocument.get(case_id=case_id)).content["details"]["new_address"].endswith("*")


def test_the_response_guard_catches_what_it_should():
    number = "11010519491231002X"
    assert leaks({"person": {"id_number": number}})
    assert leaks({"note": f"身份证 {number}"})
    assert leaks({"contact": "call 13812345678"})
    assert leaks({"new_address": ADDRESS})
    assert leaks({"bank_account": "6222020200112233445"})
    assert not leaks({"person": {"id_number": "1101**********002X", "phone": "138****5678"}})
    assert not leaks({"out_trade_no": "202511201000001234567890", "amount_fen": 13812345678})
