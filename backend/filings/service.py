"""Remote-care filing (异地就医备案): submission rules, records, change, cancellation, and the
effect of a filing on reimbursement.

- Applications are cases of ``remote_care_filing`` owned by this domain: :func:`submit` (the
  citizen in the app, or station staff with the applicant's authorisation) and
  :func:`change` all check the form against the filing type in force
  (``config/policy/remote_care.yaml``) before a case exists, and derive the facts the
  definition's conditions read (proofs needed, 即受即办 or review).
- One active filing per person and category: the submission runs under a row lock on the
  person (``SELECT ... FOR UPDATE``) and refuses a second application or filing, and the
  filing table's unique ``active_slot`` refuses a second active filing whatever happens.
- The filing is recorded when its case is issued (the ``after_transition`` hook), in the
  transaction of the issuance; a change ends the old filing the day before the new one starts.
- :func:`filing_effect` is what the reimbursement service asks: which filing covered a date and
  region, and the ratio adjustment to apply. Keep its name and signature stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.audit import service as audit
from backend.cases import access, hooks, owned, submission
from backend.cases.assisted import Assistance
from backend.cases.models import Case, InboxMessage
from backend.cases.submission import NewCase
from backend.clock import CHINA_TZ, local_today
from backend.container import Container
from backend.errors import Conflict, InvalidInput, NotFound
from backend.filings.models import FilingCategory, FilingStatus, RemoteCareFiling
from backend.identity.persons import lock_person
from backend.identity.principal import Principal
from config.policy import (
    FILING_PROOFS,
    PROVINCE_PREFIXES,
    RemoteCareFilingType,
    RemoteCarePolicy,
    is_city_code,
    is_province_code,
)
from workflows.definition import FINAL_STATES
from workflows.vocabulary import OWNERS, REMOTE_CARE_FILING

SERVICE = REMOTE_CARE_FILING
OWNER = OWNERS[SERVICE]

CATEGORY_NAMES = {"long_term": "异地长期居住人员", "temporary": "临时外出就医人员"}
STATUS_NAMES = {"active": "有效", "ended": "已终止"}


class FilingNotFound(NotFound):
    code = "FILING_NOT_FOUND"
    message = "未找到该备案"


class FilingChanged(Conflict):
    code = "FILING_CHANGED"
    message = "备案已变更或已取消，请刷新后重试"


# -- policy ---------------------------------------------------------------------------------


def policy(c: Container, on: date | None = None) -> RemoteCarePolicy:
    return c.policies.remote_care.at(on or local_today(c.clock))


def _type(pol: RemoteCarePolicy, code: str) -> RemoteCareFilingType:
    ftype = pol.types.get(code)
    if ftype is None:
        raise InvalidInput(
            "备案类型无效",
            code="FILING_TYPE_UNKNOWN",
            field="filing_type",
            allowed={k: t.name for k, t in pol.types.items()},
        )
    return ftype


def types_view(c: Container) -> list[dict[str, Any]]:
    """The filing types in force today, for the app's form."""
    pol = policy(c)
    return [
        {
            "code": code,
            "name": t.name,
            "category": t.category,
            "category_name": CATEGORY_NAMES[t.category],
            "proofs": list(t.proofs),
            "commitment": t.commitment,
            "instant": not t.review,
            "requires_hospital": t.requires_hospital,
            "validity_days": t.validity_days,
            "min_days_before_change": t.min_days_before_change,
            "retroactive_days": t.retroactive_days,
            "ratio_adjustment": str(t.ratio_adjustment),
        }
        for code, t in pol.types.items()
    ]


def check_destination(pol: RemoteCarePolicy, province_code: str, city_code: str) -> None:
    """6-digit administrative codes of the right level, the city inside the province, and not
    the insured city itself."""
    if not is_province_code(province_code):
        raise InvalidInput(
            "就医地省份代码应为6位省级行政区划代码，如 440000",
            code="DESTINATION_INVALID",
            field="province_code",
        )
    if not is_city_code(city_code):
        raise InvalidInput(
            "就医地城市代码应为6位地市级行政区划代码，如 440300",
            code="DESTINATION_INVALID",
            field="city_code",
        )
    if city_code[:2] != province_code[:2]:
        raise InvalidInput(
            "就医地城市不属于所选省份", code="DESTINATION_MISMATCH", field="city_code"
        )
    home = pol.home_city_code
    if city_code[:4] == home[:4]:
        raise InvalidInput(
            "就医地为参保地，无需办理异地就医备案", code="DESTINATION_IS_HOME", field="city_code"
        )
    if pol.province_wide_settlement and city_code[:2] == home[:2]:
        raise InvalidInput(
            "省内异地就医无需备案，可直接结算", code="FILING_NOT_NEEDED", field="city_code"
        )


# -- the request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FilingRequest:
    filing_type: str
    province_code: str
    city_code: str
    start_date: date
    destination_hospital: str = ""
    diagnosis: str = ""
    use_commitment: bool = False
    contact_phone: str | None = None
    note: str = ""
    materials: list[Mapping[str, str]] = field(default_factory=list)
    delivery_method: str | None = None

    def form(self, *, replaces: int | None = None, reason: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "filing_type": self.filing_type,
            "province_code": self.province_code,
            "city_code": self.city_code,
            "start_date": self.start_date.isoformat(),
            "use_commitment": "yes" if self.use_commitment else "no",
        }
        for name in ("destination_hospital", "diagnosis", "contact_phone", "note"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if replaces is not None:
            out["replaces_filing"] = str(replaces)
            out["change_reason"] = reason
        return out


def derive(
    pol: RemoteCarePolicy, req: FilingRequest, today: date, *, change: bool = False
) -> dict[str, Any]:
    """Check the request against its filing type; the facts the definition reads."""
    ftype = _type(pol, req.filing_type)
    check_destination(pol, req.province_code, req.city_code)
    if req.start_date < today:
        if change:
            raise InvalidInput(
                "变更后的备案开始日期不能早于今天", code="START_DATE_INVALID", field="start_date"
            )
        if ftype.retroactive_days == 0:
            raise InvalidInput(
                f"{ftype.name}不能补办备案，开始日期不能早于今天",
                code="RETROACTIVE_NOT_ALLOWED",
                field="start_date",
            )
        if (today - req.start_date).days > ftype.retroactive_days:
            raise InvalidInput(
                f"{ftype.name}补备案的开始日期最早为{today - timedelta(ftype.retroactive_days)}",
                code="START_DATE_TOO_EARLY",
                field="start_date",
            )
    if (req.start_date - today).days > pol.max_start_days_ahead:
        raise InvalidInput(
            f"备案开始日期最晚为{today + timedelta(pol.max_start_days_ahead)}",
            code="START_DATE_TOO_LATE",
            field="start_date",
        )
    if ftype.requires_hospital and not req.destination_hospital.strip():
        raise InvalidInput(
            f"{ftype.name}须填写转入的就医医院",
            code="HOSPITAL_REQUIRED",
            field="destination_hospital",
        )
    if req.use_commitment and ftype.commitment == "none":
        raise InvalidInput(
            f"{ftype.name}不适用承诺制，请提交证明材料",
            code="COMMITMENT_NOT_ALLOWED",
            field="use_commitment",
        )
    commit = ftype.commitment == "required" or (
        ftype.commitment == "may_replace" and req.use_commitment
    )
    proofs = set() if commit else set(ftype.proofs)
    derived: dict[str, Any] = {f"$need_{key}": key in proofs for key in FILING_PROOFS}
    derived["$need_commitment_letter"] = commit
    derived["$instant"] = not ftype.review
    derived["$category"] = ftype.category
    return derived


# -- submission -----------------------------------------------------------------------------


async def _expire_lapsed(c: Container, person_id: int | None = None) -> int:
    """End active temporary filings whose validity is over (frees the category)."""
    today = local_today(c.clock)
    query = RemoteCareFiling.filter(status=FilingStatus.ACTIVE, valid_to__lt=today)
    if person_id is not None:
        query = query.filter(person_id=person_id)
    return await query.update(
        status=FilingStatus.ENDED,
        active_slot=None,
        end_reason="有效期届满",
        ended_at=c.clock.now(),
        updated_at=c.clock.now(),
    )


async def expire_lapsed_filings(c: Container) -> dict[str, int]:
    """Periodic: safe to run twice or concurrently (one conditional UPDATE)."""
    return {"ended": await _expire_lapsed(c)}


async def _check_free(person_id: int, category: str, *, replacing: RemoteCareFiling | None) -> None:
    """Inside the person's lock: no other active filing or open application of the category."""
    active = await RemoteCareFiling.get_or_none(
        person_id=person_id, category=category, status=FilingStatus.ACTIVE
    )
    if active is not None and (replacing is None or active.id != replacing.id):
        raise Conflict(
            f"您已有有效的{CATEGORY_NAMES[category]}备案，如需调整请办理备案变更",
            code="FILING_ALREADY_ACTIVE",
            filing_id=active.id,
        )
    open_cases = await Case.filter(
        applicant_id=person_id,
        service_code=SERVICE,
        state__not_in=[s.value for s in FINAL_STATES],
    ).values_list("id", "form")
    for case_id, form in open_cases:
        if (form or {}).get("$category") == category:
            raise Conflict(
                "您已有正在办理的同类备案申请，请等待办结或撤回后再申请",
                code="FILING_IN_PROGRESS",
                case_id=case_id,
            )


def _new_case(req: FilingRequest, derived: dict[str, Any], form: dict[str, Any]) -> NewCase:
    return NewCase(
        service_code=SERVICE,
        form=form,
        materials=list(req.materials),
        delivery_method=req.delivery_method,
        origin=OWNER,
        derived=derived,
    )


async def submit(
    c: Container, principal: Principal, req: FilingRequest, assisted: Assistance | None = None
) -> Case:
    """A citizen applies in the app, or station staff apply for a citizen (``assisted``: the
    applicant's authorisation, a signed form now or a confirmation in the app)."""
    today = local_today(c.clock)
    derived = derive(policy(c, today), req, today)

    async def guard(person_id: int) -> None:
        await _expire_lapsed(c, person_id)
        await _check_free(person_id, derived["$category"], replacing=None)

    new_case = _new_case(req, derived, req.form())
    return await owned.submit_owned(c, principal, new_case, guard, assisted)


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
    person_id = await access.applicant_person_id(principal)
    await _expire_lapsed(c, person_id)
    filing = await RemoteCareFiling.get_or_none(id=filing_id, person_id=person_id)
    if filing is None:
        raise FilingNotFound()
    if filing.status != FilingStatus.ACTIVE:
        raise Conflict("该备案已终止，不能变更或取消", code="FILING_NOT_ACTIVE")
    if filing.version != version:
        raise FilingChanged(current_version=filing.version)
    opens = _change_opens(c, filing)
    if opens is not None and local_today(c.clock) < opens:
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
    async with in_transaction():
        await lock_person(old.person_id)  # type: ignore[attr-defined]
        # under the lock: a cancellation or change that committed meanwhile wins
        if not await RemoteCareFiling.filter(
            id=old.id, status=FilingStatus.ACTIVE, version=old.version
        ).exists():
            raise FilingChanged()
        await _check_free(old.person_id, old.category, replacing=old)  # type: ignore[attr-defined]
        return await submission.submit(
            c, principal, _new_case(req, derived, req.form(replaces=old.id, reason=text))
        )


async def cancel(
    c: Container, principal: Principal, filing_id: int, *, version: int, reason: str
) -> RemoteCareFiling:
    """Cancel an active filing (撤销备案): it stops covering care from today."""
    text = _reason(reason)
    filing = await _own_active(c, principal, filing_id, version)
    today = local_today(c.clock)
    now = c.clock.now()
    valid_to = max(filing.valid_from, today) - timedelta(days=1)
    async with in_transaction():
        # the same lock as submissions and changes: they see the cancellation, or it sees them
        await lock_person(filing.person_id)  # type: ignore[attr-defined]
        done = await RemoteCareFiling.filter(
            id=filing.id, status=FilingStatus.ACTIVE, version=filing.version
        ).update(
            status=FilingStatus.ENDED,
            active_slot=None,
            valid_to=valid_to,
            end_reason=f"取消：{text}",
            ended_at=now,
            updated_at=now,
            version=filing.version + 1,
        )
        if done != 1:
            raise FilingChanged()
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
            person_id=filing.person_id,  # type: ignore[attr-defined]
            title="异地就医备案：已取消",
            body=f"您的{filing.type_name}备案（{filing.serial}）已取消，原因：{text}"[:300],
            created_at=now,
        )
    return await RemoteCareFiling.get(id=filing.id)


# -- issuance hook --------------------------------------------------------------------------


async def _after_transition(c: Container, case: Case, name: str, actor: access.Actor) -> None:
    if name != "issue":
        return
    form = case.form or {}
    submitted_on = case.created_at.astimezone(CHINA_TZ).date()
    pol = policy(c, submitted_on)
    ftype = _type(pol, form["filing_type"])
    person_id: int = case.applicant_id  # type: ignore[attr-defined]
    start = date.fromisoformat(form["start_date"])
    valid_to = start + timedelta(days=ftype.validity_days - 1) if ftype.validity_days else None
    now = c.clock.now()
    replaces = int(form["replaces_filing"]) if form.get("replaces_filing") else None
    if replaces is not None:
        old = await RemoteCareFiling.get_or_none(
            id=replaces, person_id=person_id, status=FilingStatus.ACTIVE
        )
        if old is not None:  # cancelled meanwhile: nothing to end
            done = await RemoteCareFiling.filter(
                id=old.id, status=FilingStatus.ACTIVE, version=old.version
            ).update(
                status=FilingStatus.ENDED,
                active_slot=None,
                valid_to=start - timedelta(days=1),
                end_reason=f"变更：{form.get('change_reason', '')}"[:200],
                ended_at=now,
                updated_at=now,
                version=old.version + 1,
            )
            if done != 1:
                raise FilingChanged()
    try:
        async with in_transaction():
            filing = await RemoteCareFiling.create(
                serial=f"YD{case.id:012d}",
                person_id=person_id,
                case=case,
                filing_type=form["filing_type"],
                type_name=ftype.name,
                category=ftype.category,
                province_code=form["province_code"],
                city_code=form["city_code"],
                destination_hospital=form.get("destination_hospital", ""),
                commitment=bool(form.get("$need_commitment_letter")),
                retroactive=start < submitted_on,
                start_date=start,
                valid_from=start,
                valid_to=valid_to,
                replaces_id=replaces,
                status=FilingStatus.ACTIVE,
                active_slot=f"{person_id}:{ftype.category}",
                channel=case.channel,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"已有有效的{CATEGORY_NAMES[ftype.category]}备案", code="FILING_ALREADY_ACTIVE"
        ) from exc
    await audit.record(
        c,
        actor=actor.principal,
        action="filing.activate",
        subject_type="remote_care_filing",
        subject_id=filing.id,
        data={
            "case_id": case.id,
            "serial": filing.serial,
            "type": filing.filing_type,
            "city_code": filing.city_code,
            "valid_from": start.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "replaces": replaces,
        },
    )


hooks.register(SERVICE, hooks.ServiceHooks(after_transition=_after_transition, owner=OWNER))


# -- queries --------------------------------------------------------------------------------


def filing_view(c: Container, f: RemoteCareFiling) -> dict[str, Any]:
    opens = _change_opens(c, f)
    return {
        "id": f.id,
        "serial": f.serial,
        "case_id": f.case_id,  # type: ignore[attr-defined]
        "filing_type": f.filing_type,
        "type_name": f.type_name,
        "category": f.category.value if hasattr(f.category, "value") else f.category,
        "category_name": CATEGORY_NAMES[str(f.category)],
        "province_code": f.province_code,
        "city_code": f.city_code,
        "destination_hospital": f.destination_hospital or None,
        "commitment": f.commitment,
        "retroactive": f.retroactive,
        "start_date": f.start_date.isoformat(),
        "valid_from": f.valid_from.isoformat(),
        "valid_to": f.valid_to.isoformat() if f.valid_to else None,
        "status": str(f.status),
        "status_name": STATUS_NAMES[str(f.status)],
        "end_reason": f.end_reason or None,
        "change_opens_on": opens.isoformat() if opens else None,
        "replaces_id": f.replaces_id,
        "version": f.version,
    }


async def my_filings(c: Container, principal: Principal) -> list[dict[str, Any]]:
    person_id = await access.applicant_person_id(principal)
    await _expire_lapsed(c, person_id)
    rows = await RemoteCareFiling.filter(person_id=person_id).order_by("-valid_from", "-id")
    return [filing_view(c, f) for f in rows]


async def my_filing(c: Container, principal: Principal, filing_id: int) -> dict[str, Any]:
    person_id = await access.applicant_person_id(principal)
    await _expire_lapsed(c, person_id)
    filing = await RemoteCareFiling.get_or_none(id=filing_id, person_id=person_id)
    if filing is None:
        raise FilingNotFound()
    return filing_view(c, filing)


def _covering(person_id: int, day: date) -> Any:
    return RemoteCareFiling.filter(person_id=person_id, valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )


async def active_filings(c: Container, person_id: int) -> list[dict[str, Any]]:
    """The filings covering today (for the e-voucher answer and the profile)."""
    rows = await _covering(person_id, local_today(c.clock)).order_by("valid_from")
    return [
        {
            "serial": f.serial,
            "filing_type": f.filing_type,
            "type_name": f.type_name,
            "category": str(f.category),
            "province_code": f.province_code,
            "city_code": f.city_code,
            "valid_from": f.valid_from.isoformat(),
            "valid_to": f.valid_to.isoformat() if f.valid_to else None,
        }
        for f in rows
    ]


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
    best: tuple[Decimal, RemoteCareFiling] | None = None
    for f in await _covering(person_id, care_date):
        region = f.city_code[:4] if f.city_code[2:4] != "00" else f.city_code[:2]
        if not code.startswith(region):
            continue
        ftype = pol.types.get(f.filing_type) or policy(c, f.valid_from).types.get(f.filing_type)
        adjustment = ftype.ratio_adjustment if ftype else pol.no_filing_ratio_adjustment
        if best is None or adjustment > best[0]:
            best = (adjustment, f)
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
