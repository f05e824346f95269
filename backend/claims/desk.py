"""What the staff console's claim desks read: the claim behind a case (for the reviewer's
workbench and the front desk), the payouts finance has to make, and the day's payout batch
for the bank (the full account number leaves only here, and every export is audited)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from tortoise.expressions import Q

from backend.audit.service import record
from backend.claims.access import BANK_FIELD, load_claim
from backend.claims.models import Claim, Disbursement, DisbursementStatus
from backend.claims.payout import check_finance
from backend.claims.results import DuePayout
from backend.claims.views import disbursement_view
from backend.clock import CHINA_TZ
from backend.container import Container
from backend.identity.models import Person
from backend.identity.principal import Principal
from backend.infra.crypto import mask_name


async def claim_of_case(c: Container, principal: Principal, case_id: int) -> Claim | None:
    """The claim of a reimbursement case, if the caller may see it."""
    ids = cast(list[int], await Claim.filter(case_id=case_id).values_list("id", flat=True))
    if not ids:
        return None
    return await load_claim(c, principal, ids[0])


async def _claim_numbers(rows: list[Disbursement]) -> dict[int, tuple[str, int]]:
    ids = [d.claim_id for d in rows]
    claims = await Claim.filter(id__in=ids).values("id", "number", "person_id") if ids else []
    return {r["id"]: (r["number"], r["person_id"]) for r in claims}


async def payouts_due(c: Container, principal: Principal, limit: int = 200) -> list[DuePayout]:
    """Scheduled payouts, the oldest due date first."""
    check_finance(principal)
    rows = (
        await Disbursement.filter(status=DisbursementStatus.SCHEDULED)
        .order_by("due_date", "id")
        .limit(limit)
    )
    numbers = await _claim_numbers(rows)
    names = await _names({p for _, p in numbers.values()})
    return [
        DuePayout(
            **asdict(disbursement_view(c, d)),
            claim_number=numbers[d.claim_id][0],
            payee=mask_name(names.get(d.person_id, "")),
        )
        for d in rows
    ]


async def _names(person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return dict(await Person.filter(id__in=list(person_ids)).values_list("id", "name"))


@dataclass(frozen=True)
class BatchLine:
    payout_id: int
    claim_number: str
    payee: str
    bank_name: str
    bank_account: str
    amount_fen: int
    due_date: date
    status: str
    reference: str

    HEADERS = (
        "汇款编号",
        "报销单号",
        "收款人",
        "开户银行",
        "银行账号",
        "金额（元）",
        "应付日期",
        "状态",
        "银行流水号",
    )

    def row(self) -> list[str]:
        status = "已汇款" if self.status == DisbursementStatus.PAID.value else "待汇款"
        amount = f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"
        return [
            str(self.payout_id),
            self.claim_number,
            self.payee,
            self.bank_name,
            self.bank_account,
            amount,
            self.due_date.isoformat(),
            status,
            self.reference,
        ]


async def day_batch(c: Container, principal: Principal, day: date) -> list[BatchLine]:
    """The day's payouts for the bank's batch upload: those still to pay that are due by
    ``day`` and those paid on ``day`` (local date). Audited: the export carries full accounts."""
    check_finance(principal)
    start = datetime.combine(day, time(0), CHINA_TZ).astimezone(UTC)
    rows = await Disbursement.filter(
        Q(status=DisbursementStatus.SCHEDULED, due_date__lte=day)
        | Q(status=DisbursementStatus.PAID, paid_at__gte=start, paid_at__lt=start + timedelta(1))
    ).order_by("due_date", "id")
    numbers = await _claim_numbers(rows)
    names = await _names({p for _, p in numbers.values()})
    lines = [
        BatchLine(
            payout_id=d.id,
            claim_number=numbers[d.claim_id][0],
            payee=names.get(d.person_id, ""),
            bank_name=d.bank_name,
            bank_account=c.pii.decrypt(d.bank_account_enc, BANK_FIELD),
            amount_fen=d.amount_fen,
            due_date=d.due_date,
            status=d.status.value,
            reference=d.reference,
        )
        for d in rows
    ]
    await record(
        c,
        actor=principal,
        action="claim.payout_batch_exported",
        subject_type="payout_batch",
        subject_id=day.isoformat(),
        data={"payouts": [line.payout_id for line in lines]},
    )
    return lines
