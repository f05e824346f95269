"""The settlement of a claim from what is stored: the confirmed values (or values under
correction), the catalogue in force on each care date, the remote-care filing, the person's
assisted category on the care date and the person-year accumulations.

``settlement_for`` writes nothing: the review screen and the console call it to show the
settlement as fields are corrected. The approval calls it with ``lock=True`` inside its
transaction and then ``add_to_years`` with the settlement's increments.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.claims import calculation as calc
from backend.claims.catalogue import CLASS_LABELS, InvoiceItem, classify
from backend.claims.checks import amount_fen
from backend.claims.models import Claim, ClaimInvoice, SettlementYear
from backend.claims.money import to_fen
from backend.claims.results import CatalogueEntry, CatalogueSearch
from backend.claims.settlement import Accumulated, Settlement, in_force, settle
from backend.container import Container
from backend.enrollment.service import category_of
from backend.errors import InvalidInput
from backend.filings.service import filing_effect
from config.policy import Catalogue, CatalogueItem

SPLIT_KEYS = ("fund_paid", "self_pay", "self_expense")  # 医保统筹 / 个人自付 / 个人自费


def proposal_items(inv: ClaimInvoice) -> list[dict[str, Any]]:
    """The item lines OCR read: name, amount and code when printed."""
    field = ((inv.proposal or {}).get("fields") or {}).get("items") or {}
    out = []
    for row in field.get("value") or []:
        fen = amount_fen(row.get("amount"))
        if row.get("name") and fen is not None and fen >= 0:
            out.append(
                {
                    "name": str(row["name"])[:60],
                    "amount": f"{fen // 100}.{fen % 100:02d}",
                    "code": str(row.get("code") or "")[:30],
                    "item_class": None,
                }
            )
    return out


def carried_items(inv: ClaimInvoice, total_amount: str) -> list[dict[str, Any]]:
    """The items of a confirmation that sent none: the lines confirmed before (with the classes
    the reviewer set), else the lines OCR read. :class:`ItemsExceedTotal` when they add up to
    more than the total."""
    before = (inv.confirmed or {}).get("items")
    items = list(before) if before is not None else proposal_items(inv)
    if sum(to_fen(i["amount"]) for i in items) > to_fen(total_amount):
        raise ItemsExceedTotal()
    return items


class ItemsExceedTotal(InvalidInput):
    code = "ITEMS_EXCEED_TOTAL"
    message = "识别出的收费项目合计超过票据总金额，请核对后在确认时一并提交收费项目"


def split_printed(inv: ClaimInvoice, values: dict[str, Any]) -> bool:
    """Whether the invoice states its own split: OCR read one of its amounts, or the reviewer
    entered one (a value above zero)."""
    read = (inv.proposal or {}).get("fields") or {}
    if any((read.get(k) or {}).get("value") not in (None, "") for k in SPLIT_KEYS):
        return True
    return any((amount_fen(values.get(k)) or 0) > 0 for k in SPLIT_KEYS)


async def _remote_care(
    c: Container, person_id: int, care_date: date, region: str
) -> calc.RemoteCare:
    """Care outside the insured city: the remote-care filing decides the ratio (issue 6)."""
    effect = await filing_effect(c, person_id, care_date, region)
    if not effect.out_of_region:
        return calc.RemoteCare(outside=False)
    return calc.RemoteCare(
        outside=True,
        filed=effect.filed,
        ratio_adjustment=effect.ratio_adjustment,
        note=effect.filing_type_name or "",
    )


def _category_name(c: Container, code: str | None) -> str:
    """The category's name in the newest premium version that lists it."""
    for version in reversed(c.policies.premium.versions):
        if code in version.subsidies:
            return version.subsidies[code].name
    return code or ""


def catalogue_on(c: Container, care_date: date) -> Catalogue:
    """The catalogue in force on the care date (see :func:`in_force`)."""
    return in_force(c.policies.catalogue, care_date)


def catalogue_view(catalogue: Catalogue, item: CatalogueItem) -> CatalogueEntry:
    return CatalogueEntry(
        code=item.code,
        name=item.name,
        kind=item.kind,
        item_class=item.item_class,
        class_label=CLASS_LABELS[item.item_class],
        self_pay_ratio=str(catalogue.self_pay_ratio(item)) if item.item_class == "yi" else None,
    )


def search_catalogue(c: Container, text: str, on: date, limit: int = 20) -> CatalogueSearch:
    """For the reviewer classing an item: catalogue entries in force on ``on`` by code prefix or
    name."""
    catalogue = catalogue_on(c, on)
    return CatalogueSearch(
        effective_from=catalogue.effective_from.isoformat(),
        items=[catalogue_view(catalogue, i) for i in catalogue.search(text, limit)],
    )


async def invoice_facts(
    c: Container, claim: Claim, inv: ClaimInvoice, values: dict[str, Any], n: int
) -> calc.InvoiceFacts:
    care_date = date.fromisoformat(str(values["issue_date"]))
    items = [
        InvoiceItem(i["name"], to_fen(i["amount"]), i.get("code") or "", i.get("item_class"))
        for i in values.get("items") or []
    ]
    classed = classify(
        catalogue_on(c, care_date),
        items,
        total_fen=to_fen(values["total_amount"]),
        self_expense_fen=to_fen(values.get("self_expense")),
        split_printed=not items or split_printed(inv, values),
    )
    person_id: int = claim.person_id
    category = await category_of(person_id, care_date)
    return calc.InvoiceFacts(
        label=f"票据{n}：{values['hospital_name']} {values['issue_date']}",
        visit_type=values["visit_type"],
        level=values["institution_level"],
        care_date=care_date,
        total_fen=to_fen(values["total_amount"]),
        classed=classed,
        fund_paid_fen=to_fen(values.get("fund_paid")),
        other_paid_fen=to_fen(values.get("other_paid")),
        remote=await _remote_care(c, person_id, care_date, values["care_region_code"]),
        category=category,
        category_name=_category_name(c, category),
    )


async def _year_rows(
    c: Container, person_id: int, years: list[int], *, lock: bool
) -> list[SettlementYear]:
    if not lock:
        return await SettlementYear.filter(person_id=person_id, year__in=years)
    rows = []
    for year in sorted(years):  # one order for everyone: years ascending
        try:
            async with in_transaction():  # a savepoint: losing the insert race aborts nothing
                await SettlementYear.create(
                    person_id=person_id, year=year, updated_at=c.clock.now()
                )
        except IntegrityError:
            pass
        rows.append(await SettlementYear.select_for_update().get(person_id=person_id, year=year))
    return rows


def _accumulated(row: SettlementYear) -> Accumulated:
    return Accumulated(
        row.in_range_fen,
        row.basic_paid_fen,
        row.catastrophic_base_fen,
        row.catastrophic_paid_fen,
        row.assistance_paid_fen,
    )


async def settlement_for(
    c: Container,
    claim: Claim,
    *,
    values: dict[int, dict[str, Any]] | None = None,
    lock: bool = False,
) -> Settlement | None:
    """The claim's settlement over its invoices' confirmed values, with ``values`` (by invoice
    id) in place of some; None while an invoice has no values. Saves nothing; ``lock`` locks
    the person-year rows (inside the caller's transaction)."""
    invoices = await ClaimInvoice.filter(claim_id=claim.id).order_by("id")
    chosen = {i.id: (values or {}).get(i.id, i.confirmed) for i in invoices}
    if not invoices or any(v is None for v in chosen.values()):
        return None
    facts = [
        await invoice_facts(c, claim, inv, chosen[inv.id] or {}, n)
        for n, inv in enumerate(invoices, 1)
    ]
    years = sorted({f.care_date.year for f in facts})
    rows = await _year_rows(c, claim.person_id, years, lock=lock)
    return settle(
        c.policies.reimbursement,
        c.policies.settlement,
        facts,
        {row.year: _accumulated(row) for row in rows},
    )


async def add_to_years(c: Container, person_id: int, settlement: Settlement) -> None:
    """Add an approved settlement to its locked person-year rows."""
    for year, plus in settlement.increments.items():
        row = await SettlementYear.select_for_update().get(person_id=person_id, year=year)
        total = _accumulated(row).plus(plus)
        await SettlementYear.filter(id=row.id).update(**total.to_json(), updated_at=c.clock.now())
