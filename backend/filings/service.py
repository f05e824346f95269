"""Remote-care filing (异地就医备案): applying, change, cancellation, the holder's reads and the
effect of a filing on reimbursement.

- Applications are cases of ``remote_care_filing`` owned by this domain: :func:`submit` (the
  citizen in the app, or station staff with the applicant's authorisation) and
  :func:`change` all check the form against the filing type in force
  (``config/policy/remote_care.yaml``, :mod:`backend.filings.rules`) before a case exists.
- One active filing per person and category, and the reads, are the shared entitlement
  template's (:mod:`backend.entitlements.template`); a lapsed filing reads as ended. The
  filing is recorded when its case is issued (:mod:`backend.filings.records`).
- :func:`filing_effect` is what the reimbursement service asks: which filing covered a date and
  region, and the ratio adjustment to apply. Keep its name and signature stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import assisted, hooks
from backend.cases.models import Case, InboxMessage
from backend.clock import local_today
from backend.container import Container
from backend.entitlements import template
from backend.errors import Conflict, InvalidInput
from backend.filings import records
from backend.filings.entitlement import CATEGORY_NAMES, SPEC, FilingChanged, policy
from backend.filings.models import FilingCategory, FilingStatus, RemoteCareFiling
from backend.filings.results import CoveringFiling, Filing, FilingType
from backend.filings.rules import FilingRequest, derive
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from config.policy import PROVINCE_PREFIXES


def filing_types(c: Container) -> list[FilingType]:
    """The filing types in force today, for the app's form."""
    return [FilingType.of(code, t) for code, t in policy(c).types.items()]


# -- applying, change and cancellation ----------------------------------------------------------


async def submit(
    c: Container,
    principal: Principal,
    req: FilingRequest,
    assisted: assisted.Assistance | None = None,
) -> Case:
    """A citizen applies in the app, or station staff apply for a citizen (``assisted``: the
    applicant's authorisation, a signed form now or a confirmation in the app)."""
    today = local_today(c.clock)
    derived = derive(policy(c, today), req, today)
    new = template.new_case(SPEC, req, derived, req.form())
    return await template.submit(c, SPEC, principal, new, derived["$category"], assisted)


def _change_opens(c: Container, filing: RemoteCareFiling) -> date | None:
    """The first day a long-term filing may be changed or cancelled (None: any time)."""
    if filing.category != FilingCategory.LONG_TERM:
        return None
    ftype = policy(c).types.get(filing.filing_type)
    days = ftype.min_days_before_change if ftype is not None else 0
    return filing.valid_from + timedelta(days=days) if days else None


async def _own_active(
    c: Container, principal: Principal, filing_id: int, version: int
) -> RemoteCareFiling:
    filing: RemoteCareFiling = await template.own(c, SPEC, principal, filing_id)
    today = local_today(c.clock)
    if not template.in_force(SPEC, filing, today):
        raise Conflict("该备案已终止，不能变更或取消", code="FILING_NOT_ACTIVE")
    if filing.version != version:
        raise FilingChanged(current_version=filing.version)
    opens = _change_opens(c, filing)
    if opens is not None and today < opens:
        raise Conflict(
            f"异地长期居住备案满规定期限后方可变更或取消，最早可于{opens:%Y年%m月%d日}办理",
            code="FILING_CHANGE_TOO_EARLY",
            opens_on=opens.isoformat(),
        )
    return filing


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("请填写变更或取消的原因", code="REASON_REQUIRED", field="reason")
    return text[:200]


async def change(
    c: Container,
    principal: Principal,
    filing_id: int,
    *,
    version: int,
    reason: str,
    req: FilingRequest,
) -> Case:
    """Change an active filing: a new application of the same category that replaces it when
    issued (the old one ends the day before the new one starts)."""
    text = _reason(reason)
    old = await _own_active(c, principal, filing_id, version)
    today = local_today(c.clock)
    derived = derive(policy(c, today), req, today, change=True)
    if derived["$category"] != old.category:
        raise InvalidInput(
            f"变更只能在{CATEGORY_NAMES[old.category]}备案类型之间进行，其他类型请另行申请",
            code="FILING_CATEGORY_MISMATCH",
            field="filing_type",
        )
    if req.start_date <= old.valid_from:
        raise InvalidInput(
            "变更后的开始日期须晚于原备案的开始日期", code="START_DATE_INVALID", field="start_date"
        )
    new = template.new_case(SPEC, req, derived, req.form(replaces=old.id, reason=text))
    return await template.submit_successor(c, SPEC, principal, old, new)


async def cancel(
    c: Container, principal: Principal, filing_id: int, *, version: int, reason: str
) -> RemoteCareFiling:
    """Cancel an active filing (撤销备案): it stops covering care from today."""
    text = _reason(reason)
    filing = await _own_active(c, principal, filing_id, version)
    now = c.clock.now()
    valid_to = max(filing.valid_from, local_today(c.clock)) - timedelta(days=1)
    async with in_transaction():
        # the same lock as submissions and changes: they see the cancellation, or it sees them
        await lock_person(filing.person_id)
        await template.end(
            SPEC,
            filing,
            now,
            status=FilingStatus.ENDED,
            valid_to=valid_to,
            end_reason=f"取消：{text}",
            ended_at=now,
        )
        await audit.record(
            c,
            actor=principal,
            action="filing.cancel",
            subject_type="remote_care_filing",
            subject_id=filing.id,
            reason=text,
            data={"serial": filing.serial, "valid_to": valid_to.isoformat()},
        )
        await InboxMessage.create(
            person_id=filing.person_id,
            title="异地就医备案：已取消",
            body=f"您的{filing.type_name}备案（{filing.serial}）已取消，原因：{text}"[:300],
            created_at=now,
        )
    return await RemoteCareFiling.get(id=filing.id)


def register_hooks(registry: hooks.ServiceHookRegistry) -> None:
    registry.register(
        SPEC.service,
        hooks.ServiceHooks(after_transition=records.after_transition, owner=SPEC.owner),
    )


# -- reads (never write: a lapsed filing reads as ended) ----------------------------------------


def filing_result(c: Container, f: RemoteCareFiling) -> Filing:
    return Filing.of(f, template.standing(SPEC, f, local_today(c.clock)), _change_opens(c, f))


async def recorded_for(c: Container, case: Case) -> Filing | None:
    """The filing an application's case recorded (None: not issued yet)."""
    f = await RemoteCareFiling.get_or_none(case_id=case.id)
    return filing_result(c, f) if f else None


async def my_filings(c: Container, principal: Principal) -> list[Filing]:
    return [filing_result(c, f) for f in await template.mine(SPEC, principal)]


async def my_filing(c: Container, principal: Principal, filing_id: int) -> Filing:
    return filing_result(c, await template.own(c, SPEC, principal, filing_id))


async def active_filings(c: Container, person_id: int) -> list[CoveringFiling]:
    """The filings covering today (for the e-voucher answer and the profile)."""
    return [CoveringFiling.of(f) for f in await template.covering_today(c, SPEC, person_id)]


# -- the effect of a filing on reimbursement ----------------------------------------------------


@dataclass(frozen=True)
class FilingEffect:
    """What a filing means for one episode of care.

    ``ratio_adjustment`` is added to the reimbursement ratio (``Decimal("-0.10")``: ten
    percentage points lower; ``Decimal("0")``: no change). ``out_of_region`` is False for care in
    the insured city (or, where configured, the insured province): no filing is needed then.
    """

    out_of_region: bool
    filed: bool
    ratio_adjustment: Decimal
    note: str
    filing_id: int | None = None
    filing_serial: str | None = None
    filing_type: str | None = None
    filing_type_name: str | None = None
    category: str | None = None


async def _best_filing(
    c: Container, person_id: int, care_date: date, code: str
) -> tuple[Decimal, RemoteCareFiling] | None:
    """The filing covering the care with the most favourable ratio adjustment."""
    pol = policy(c, care_date)
    best: tuple[Decimal, RemoteCareFiling] | None = None
    for f in await template.covering(SPEC, person_id, care_date):
        region = f.city_code[:4] if f.city_code[2:4] != "00" else f.city_code[:2]
        if not code.startswith(region):
            continue
        ftype = pol.types.get(f.filing_type) or policy(c, f.valid_from).types.get(f.filing_type)
        adjustment = ftype.ratio_adjustment if ftype else pol.no_filing_ratio_adjustment
        if best is None or adjustment > best[0]:
            best = (adjustment, f)
    return best


async def filing_effect(
    c: Container, person_id: int, care_date: date, care_region_code: str
) -> FilingEffect:
    """The filing covering ``care_date`` in ``care_region_code`` (a 6-digit administrative code
    of the place of care, any level), and the ratio adjustment to apply; the values in force on
    the care date. Raises :class:`InvalidInput` for a malformed region code."""
    code = (care_region_code or "").strip()
    if not (len(code) == 6 and code.isdigit() and code[:2] in PROVINCE_PREFIXES):
        raise InvalidInput("就医地区划代码应为6位行政区划代码", code="REGION_CODE_INVALID")
    pol = policy(c, care_date)
    home = pol.home_city_code
    if code[:4] == home[:4]:
        return FilingEffect(False, False, Decimal("0"), "参保地就医，无需备案")
    if pol.province_wide_settlement and code[:2] == home[:2]:
        return FilingEffect(False, False, Decimal("0"), "省内异地就医，无需备案")
    best = await _best_filing(c, person_id, care_date, code)
    if best is None:
        return FilingEffect(
            True,
            False,
            pol.no_filing_ratio_adjustment,
            "异地就医未办理备案，报销比例按规定降低",
        )
    adjustment, f = best
    return FilingEffect(
        True,
        True,
        adjustment,
        f"已备案（{f.type_name}）",
        filing_id=f.id,
        filing_serial=f.serial,
        filing_type=f.filing_type,
        filing_type_name=f.type_name,
        category=str(f.category),
    )
